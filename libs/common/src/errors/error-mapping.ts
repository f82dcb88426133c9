import { HttpException } from '@nestjs/common';
import { ApiError } from './api-error';
import { ErrorCode } from './error-codes';

const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '53300', // too_many_connections
]);

const CONNECTION_MESSAGES = [
  /connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /connection is closed/i,
  /enableOfflineQueue options is false/i,
  /Reached the max retries per request limit/i,
  /Client has encountered a connection error/i,
  /Connection terminated unexpectedly/i,
  /the database system is (starting up|shutting down)/i,
];

/** Thrown by our storage wrappers when a backing store cannot be reached. */
export class StoreUnavailableError extends Error {
  constructor(store: string, cause?: unknown) {
    super(`${store} is unavailable`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

/** True when an error (or the driver error it wraps) means a database or store is unreachable. */
export function isUnavailableError(err: unknown): boolean {
  for (let e: any = err, depth = 0; e && depth < 4; depth++) {
    if (e instanceof StoreUnavailableError) return true;
    if (typeof e.code === 'string' && (CONNECTION_ERROR_CODES.has(e.code) || e.code.startsWith('08'))) return true;
    if (typeof e.message === 'string' && CONNECTION_MESSAGES.some((re) => re.test(e.message))) return true;
    if (e.name === 'MaxRetriesPerRequestError') return true;
    e = e.driverError ?? e.cause;
  }
  return false;
}

const BODY_PARSER_ERRORS: Record<string, ApiError> = {
  'entity.too.large': new ApiError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is larger than 100 kB.'),
  'entity.parse.failed': ApiError.validation([{ field: 'body', message: 'The body is not valid JSON.' }]),
  'entity.verify.failed': ApiError.validation([{ field: 'body', message: 'The body could not be verified.' }]),
  'encoding.unsupported': ApiError.validation([{ field: 'content-encoding', message: 'Unsupported content encoding.' }]),
  'charset.unsupported': ApiError.validation([{ field: 'content-type', message: 'Unsupported charset.' }]),
  'request.aborted': ApiError.validation([{ field: 'body', message: 'The request was aborted.' }]),
  'request.size.invalid': ApiError.validation([{ field: 'body', message: 'The body length does not match Content-Length.' }]),
  'stream.encoding.set': ApiError.validation([{ field: 'body', message: 'The body could not be read.' }]),
};

const INVALID_CONTENT_TYPE = ApiError.validation([{ field: 'content-type', message: 'The body must be JSON (Content-Type: application/json).' }]);

/** Errors Fastify raises itself before a route runs (its content-type checks, malformed URLs). */
const FASTIFY_ERRORS: Record<string, ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: BODY_PARSER_ERRORS['entity.too.large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: INVALID_CONTENT_TYPE,
  FST_ERR_CTP_INVALID_TYPE: INVALID_CONTENT_TYPE,
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: BODY_PARSER_ERRORS['request.size.invalid'],
  FST_ERR_CTP_EMPTY_JSON_BODY: BODY_PARSER_ERRORS['entity.parse.failed'],
  FST_ERR_CTP_INVALID_JSON_BODY: BODY_PARSER_ERRORS['entity.parse.failed'],
};

function fromFastifyError(code: string, statusCode: unknown): ApiError | undefined {
  if (FASTIFY_ERRORS[code]) return FASTIFY_ERRORS[code];
  if (typeof statusCode !== 'number' || statusCode < 400 || statusCode >= 500) return undefined;
  if (statusCode === 404) return new ApiError(ErrorCode.NOT_FOUND);
  if (statusCode === 413) return BODY_PARSER_ERRORS['entity.too.large'];
  return ApiError.validation([{ message: 'The request is malformed.' }]);
}

function fromHttpException(err: HttpException): ApiError {
  const status = err.getStatus();
  switch (status) {
    case 400:
      return ApiError.validation([{ message: String(err.message) }]);
    case 401:
      return new ApiError(ErrorCode.TOKEN_INVALID);
    case 403:
      return new ApiError(ErrorCode.FORBIDDEN);
    case 404:
    case 405:
      return new ApiError(ErrorCode.NOT_FOUND);
    case 409:
      return new ApiError(ErrorCode.CONFLICT);
    case 413:
      return new ApiError(ErrorCode.PAYLOAD_TOO_LARGE);
    case 429:
      return ApiError.tooManyAttempts(60);
    case 503:
      return new ApiError(ErrorCode.SERVICE_UNAVAILABLE);
    default:
      return status >= 400 && status < 500
        ? ApiError.validation([{ message: String(err.message) }])
        : new ApiError(ErrorCode.INTERNAL_ERROR);
  }
}

/**
 * Maps anything thrown while serving a request to a contract error. Returns `unexpected: true`
 * for errors that are bugs (logged with their stack, answered 500 with only a request id).
 */
export function toApiError(err: unknown): { error: ApiError; unexpected: boolean } {
  if (err instanceof ApiError) return { error: err, unexpected: false };
  if (err instanceof HttpException) {
    const error = fromHttpException(err);
    return { error, unexpected: error.code === ErrorCode.INTERNAL_ERROR };
  }
  const { code, statusCode } = (err as { code?: unknown; statusCode?: unknown } | null) ?? {};
  if (typeof code === 'string' && code.startsWith('FST_')) {
    const error = fromFastifyError(code, statusCode);
    if (error) return { error, unexpected: false };
  }
  const type = (err as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && BODY_PARSER_ERRORS[type]) return { error: BODY_PARSER_ERRORS[type], unexpected: false };
  if (isUnavailableError(err)) return { error: new ApiError(ErrorCode.SERVICE_UNAVAILABLE), unexpected: false };
  return { error: new ApiError(ErrorCode.INTERNAL_ERROR), unexpected: true };
}
