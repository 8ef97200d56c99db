/**
 * Error codes of the REST API and the one error body every route answers with:
 * `{ "error": { "code", "message", "field"? } }`. docs/rest-api.md lists them.
 */
import { ERROR_CODES, type ErrorCode } from '../error-codes';
import { ParleyError, ValidationError } from '../errors';

/** Every `error.code` a REST response may carry: the one set of core/error-codes.ts. */
export const REST_ERROR_CODES = ERROR_CODES;
export type RestErrorCode = ErrorCode;

/** A 400 that names the offending field (`error.field`). */
export class FieldValidationError extends ValidationError {
  readonly field: string;
  constructor(field: string, message: string, code: ErrorCode = 'INVALID_REQUEST') {
    super(message, code);
    this.name = 'FieldValidationError';
    this.field = field;
  }
}

/** A feature or dependency that is not there (503). */
export class UnavailableError extends ParleyError {
  constructor(message: string, code: ErrorCode = 'UNAVAILABLE') {
    super(code, message, 503);
    this.name = 'UnavailableError';
  }
}

export interface ErrorBody {
  error: { code: string; message: string; field?: string };
}

export function errorBody(code: string, message: string, field?: string): ErrorBody {
  return { error: { code, message, ...(field !== undefined ? { field } : {}) } };
}
