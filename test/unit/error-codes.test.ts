import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ERROR_CODE_LIST, ERROR_CODES, INTERNAL_ERROR_MESSAGE, toClientError } from '../../core/error-codes';
import { ConfigError, NotFoundError, UpstreamError } from '../../core/errors';
import { FieldValidationError } from '../../core/rest/errors';

/** The codes in the first column of the markdown table that follows `heading`. */
function documentedCodes(file: string, heading: string): string[] {
  const text = readFileSync(path.resolve(__dirname, '../../docs', file), 'utf8');
  const section = text.slice(text.indexOf(heading));
  const table = section.slice(section.indexOf('\n|'));
  const codes: string[] = [];
  for (const line of table.split('\n').slice(1)) {
    if (!line.startsWith('|')) {
      if (codes.length > 0) break;
      continue;
    }
    const match = /^\|\s*`([A-Z_]+)`\s*\|/.exec(line);
    if (match) codes.push(match[1] as string);
  }
  return codes;
}

describe('the one set of error codes', () => {
  it('is listed exactly, in full, in docs/protocol.md', () => {
    expect(documentedCodes('protocol.md', '## Error codes')).toEqual(ERROR_CODE_LIST);
  });

  it('is listed exactly, in full, in docs/rest-api.md', () => {
    expect(documentedCodes('rest-api.md', '## Errors')).toEqual(ERROR_CODE_LIST);
  });

  it('sends a configuration error to clients as a generic INTERNAL_ERROR without its internal message', () => {
    const error = new ConfigError('OPENAI_MODEL environment variable is not set');

    const client = toClientError(error);

    expect(client).toEqual({
      code: 'INTERNAL_ERROR',
      status: 500,
      message: INTERNAL_ERROR_MESSAGE,
      internal: true,
    });
    expect(client.message).not.toContain('OPENAI_MODEL');
  });

  it('sends an unexpected error as INTERNAL_ERROR and never its message', () => {
    const client = toClientError(new TypeError('x is undefined at /var/task/index.js:1:2'));

    expect(client.code).toBe('INTERNAL_ERROR');
    expect(client.message).toBe(INTERNAL_ERROR_MESSAGE);
  });

  it('keeps the code, status, message and field of a typed error', () => {
    expect(toClientError(new FieldValidationError('title', 'title: too long'))).toEqual({
      code: 'INVALID_REQUEST',
      status: 400,
      message: 'title: too long',
      field: 'title',
      internal: false,
    });
    expect(toClientError(new NotFoundError('Meeting x not found', 'MEETING_NOT_FOUND')).status).toBe(404);
    expect(toClientError(new UpstreamError('RECALL_UNAVAILABLE', 'Recall timed out')).code).toBe(
      'RECALL_UNAVAILABLE',
    );
  });

  it('gives every code a REST status and a description', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect([code, info.status >= 400 && info.status < 600]).toEqual([code, true]);
      expect(info.description.length).toBeGreaterThan(10);
    }
  });
});
