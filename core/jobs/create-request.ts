/** The body of `POST /jobs` (docs/rest-api.md), validated before any upload is created. */
import * as z from 'zod';
import { KeywordsSchema, LanguageSchema } from '../meetings/schemas';
import { ACCEPTED_CONTENT_TYPES, JOB_LIMITS } from './model';

export const CreateJobRequestSchema = z.strictObject({
  fileName: z
    .string()
    .trim()
    .min(1)
    .max(255)
    .refine(
      (name) => ![...name].some((c) => c === '/' || c === '\\' || c.charCodeAt(0) < 0x20),
      'fileName must not contain slashes or control characters',
    ),
  contentType: z.enum(ACCEPTED_CONTENT_TYPES, {
    error: `contentType must be one of ${ACCEPTED_CONTENT_TYPES.join(', ')}`,
  }),
  sizeBytes: z
    .number()
    .int()
    .positive('sizeBytes must be at least 1 (empty files are refused)')
    .max(JOB_LIMITS.maxSizeBytes, `sizeBytes must be at most ${JOB_LIMITS.maxSizeBytes} (4 GiB)`),
  language: z.optional(LanguageSchema),
  keywords: z.optional(KeywordsSchema),
  title: z.string().trim().min(1).max(200).optional(),
});
export type CreateJobRequest = z.infer<typeof CreateJobRequestSchema>;
