/**
 * Typed errors shared by every part of Parley. Each carries a machine-readable `code`
 * (listed in docs/protocol.md) and the HTTP status a REST handler maps it to.
 */
export class ParleyError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400, options?: { cause?: unknown }) {
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
  constructor(message: string, code = 'INVALID_REQUEST') {
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
  constructor(message = 'Not found', code = 'NOT_FOUND') {
    super(code, message, 404);
    this.name = 'NotFoundError';
  }
}

export class ConflictError extends ParleyError {
  constructor(message: string, code = 'CONFLICT') {
    super(code, message, 409);
    this.name = 'ConflictError';
  }
}

export class UpstreamError extends ParleyError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, 502, options);
    this.name = 'UpstreamError';
  }
}
