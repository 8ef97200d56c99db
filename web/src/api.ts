/**
 * The REST API, typed from the zod schemas in core/rest (type-only imports: no zod in this
 * module's share of the bundle). Errors become `ApiError` with the API's `code` and `field`.
 */
import type { z } from 'zod';
import type {
  AskResponse,
  Brief,
  CreateMeetingRequest,
  MeetingListSchema,
  MeetingView,
  RecordingView,
  SharesSchema,
  TranscriptPageSchema,
} from '../../core/rest/schemas';
import type { Auth } from './auth';

export type { AskResponse, Brief, MeetingView, RecordingView };
export type MeetingList = z.infer<typeof MeetingListSchema>;
export type Shares = z.infer<typeof SharesSchema>;
export type TranscriptPage = z.infer<typeof TranscriptPageSchema>;
export type TranscriptFormat = 'txt' | 'srt' | 'vtt' | 'json';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

export class Api {
  constructor(
    private readonly baseUrl: string,
    private readonly auth: Auth,
  ) {}

  listMeetings(cursor?: string | null, limit = 20): Promise<MeetingList> {
    const query = new URLSearchParams({ limit: String(limit) });
    if (cursor) query.set('cursor', cursor);
    return this.json('GET', `/meetings?${query}`);
  }

  getMeeting(meetingId: string): Promise<MeetingView> {
    return this.json('GET', `/meetings/${encodeURIComponent(meetingId)}`);
  }

  createMeeting(body: CreateMeetingRequest): Promise<MeetingView> {
    return this.json('POST', '/meetings', body);
  }

  /** Deletes an ended meeting and everything stored for it (owner only; `204`, no body). */
  async deleteMeeting(meetingId: string): Promise<void> {
    await this.fetch('DELETE', `/meetings/${encodeURIComponent(meetingId)}`);
  }

  leaveMeeting(meetingId: string): Promise<unknown> {
    return this.json('POST', `/meetings/${encodeURIComponent(meetingId)}/leave`);
  }

  share(meetingId: string, userId: string): Promise<Shares> {
    return this.json('POST', `/meetings/${encodeURIComponent(meetingId)}/shares`, { userId });
  }

  unshare(meetingId: string, userId: string): Promise<Shares> {
    return this.json(
      'DELETE',
      `/meetings/${encodeURIComponent(meetingId)}/shares/${encodeURIComponent(userId)}`,
    );
  }

  /** A short-lived URL of the meeting's recording (409 RECORDING_NOT_READY until it is assembled). */
  recording(meetingId: string): Promise<RecordingView> {
    return this.json('GET', `/meetings/${encodeURIComponent(meetingId)}/recording`);
  }

  brief(meetingId: string): Promise<Brief> {
    return this.json('GET', `/meetings/${encodeURIComponent(meetingId)}/brief`);
  }

  ask(meetingId: string, question: string, speak: boolean): Promise<AskResponse> {
    return this.json('POST', `/meetings/${encodeURIComponent(meetingId)}/ask`, { question, speak });
  }

  /** The whole transcript as a file: txt/srt/vtt from the API, json assembled from its pages. */
  async transcriptFile(
    meetingId: string,
    format: TranscriptFormat,
  ): Promise<{ blob: Blob; filename: string }> {
    const path = `/meetings/${encodeURIComponent(meetingId)}/transcript`;
    if (format === 'json') {
      const segments: TranscriptPage['segments'] = [];
      let cursor: string | null = null;
      do {
        const query = new URLSearchParams({ limit: '500', ...(cursor ? { cursor } : {}) });
        const page: TranscriptPage = await this.json('GET', `${path}?${query}`);
        segments.push(...page.segments);
        cursor = page.nextCursor;
      } while (cursor);
      const body = JSON.stringify({ meetingId, segments }, null, 2);
      return {
        blob: new Blob([body], { type: 'application/json' }),
        filename: `${meetingId}-transcript.json`,
      };
    }
    const res = await this.fetch('GET', `${path}?format=${format}`);
    const disposition = res.headers.get('content-disposition') ?? '';
    const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
    const plain = /filename="([^"]+)"/i.exec(disposition)?.[1];
    const filename = star ? decodeURIComponent(star) : (plain ?? `${meetingId}-transcript.${format}`);
    return { blob: await res.blob(), filename };
  }

  /** Any JSON route with the same auth and errors (web/src/jobs-api.ts calls /jobs through it). */
  call<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.json(method, path, body);
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.fetch(method, path, body);
    return (await res.json()) as T;
  }

  private async fetch(method: string, path: string, body?: unknown): Promise<Response> {
    const send = (token: string) =>
      fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    let res: Response;
    try {
      res = await send(await this.auth.accessToken());
      if (res.status === 401) res = await send(await this.auth.renewAfterRejection());
    } catch (error) {
      if (error instanceof Error && error.name === 'SessionExpiredError') throw error;
      throw new ApiError(0, 'NETWORK', 'Cannot reach the Parley API; check your connection');
    }
    if (res.ok) return res;
    const payload = (await res.json().catch(() => undefined)) as
      | { error?: { code?: string; message?: string; field?: string }; message?: string }
      | undefined;
    const code = payload?.error?.code ?? (res.status === 401 ? 'UNAUTHORIZED' : `HTTP_${res.status}`);
    const message = payload?.error?.message ?? payload?.message ?? `The API answered ${res.status}`;
    throw new ApiError(res.status, code, message, payload?.error?.field);
  }
}
