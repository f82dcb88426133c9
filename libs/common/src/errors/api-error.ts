import { defaultMessage, ERROR_STATUS, ErrorCode } from './error-codes';

export interface ErrorDetail {
  field?: string;
  message: string;
  [extra: string]: unknown;
}

/**
 * The one error type of the service. Anything a client can cause is thrown as an ApiError
 * with a contract code; the global filter turns it into the error envelope.
 */
export class ApiError extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: ErrorDetail[],
    /** Extra response headers, e.g. Retry-After for TOO_MANY_ATTEMPTS. */
    readonly headers?: Record<string, string>,
  ) {
    super(message ?? defaultMessage(code));
    this.name = 'ApiError';
    this.status = ERROR_STATUS[code];
  }

  static validation(details: ErrorDetail[], message = 'The request is invalid.'): ApiError {
    return new ApiError(ErrorCode.VALIDATION_FAILED, message, details);
  }

  static tooManyAttempts(retryAfterSeconds: number, message?: string): ApiError {
    const seconds = Math.max(1, Math.ceil(retryAfterSeconds));
    return new ApiError(ErrorCode.TOO_MANY_ATTEMPTS, message, undefined, { 'Retry-After': String(seconds) });
  }
}

export interface ErrorBody {
  success: false;
  error: { code: ErrorCode; message: string; details?: ErrorDetail[]; requestId?: string };
}

export function errorBody(error: ApiError, requestId?: string): ErrorBody {
  const body: ErrorBody = { success: false, error: { code: error.code, message: error.message } };
  if (error.details?.length) body.error.details = error.details;
  if (error.code === ErrorCode.INTERNAL_ERROR && requestId) body.error.requestId = requestId;
  return body;
}
