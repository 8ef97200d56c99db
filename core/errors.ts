/**
 * Typed errors shared by every part of Parley. Each carries a machine-readable `code` from the
 * one closed set (core/error-codes.ts, listed in docs/protocol.md and docs/rest-api.md) and the
 * HTTP status a REST handler maps it to.
 */
import type { ErrorCode, InternalErrorCode } from './error-codes';

export class ParleyError extends Error {
  readonly code: ErrorCode | InternalErrorCode;
  readonly status: number;
  constructor(
    code: ErrorCode | InternalErrorCode,
    message: string,
    status = 400,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ParleyError';
    this.code = code;
    this.status = status;
  }
}

export class ConfigError extends ParleyError {
  constructor(message: string) {
    super('CONFIG_INVALID', message, 500);
    this.name = 'ConfigError';
  }
}

export class ValidationError extends ParleyError {
  constructor(message: string, code: ErrorCode = 'INVALID_REQUEST') {
    super(code, message, 400);
    this.name = 'ValidationError';
  }
}

export class UnauthorizedError extends ParleyError {
  constructor(message = 'Missing or invalid token') {
    super('UNAUTHORIZED', message, 401);
    this.name = 'UnauthorizedError';
  }
}

export class ForbiddenError extends ParleyError {
  constructor(message = 'Not allowed') {
    super('FORBIDDEN', message, 403);
    this.name = 'ForbiddenError';
  }
}

export class NotFoundError extends ParleyError {
  constructor(message = 'Not found', code: ErrorCode = 'NOT_FOUND') {
    super(code, message, 404);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends ParleyError {
  constructor(message: string, code: ErrorCode = 'CONFLICT') {
    super(code, message, 409);
    this.name = 'ConflictError';
  }
}

export class UpstreamError extends ParleyError {
  constructor(code: ErrorCode | InternalErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, 502, options);
    this.name = 'UpstreamError';
  }
}
