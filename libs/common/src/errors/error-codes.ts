/** The contract's error codes and the HTTP status each one maps to. */
export enum ErrorCode {
  VALIDATION_FAILED = 'VALIDATION_FAILED',
  INVALID_CREDENTIALS = 'INVALID_CREDENTIALS',
  TOKEN_MISSING = 'TOKEN_MISSING',
  TOKEN_INVALID = 'TOKEN_INVALID',
  TOKEN_EXPIRED = 'TOKEN_EXPIRED',
  TOKEN_REVOKED = 'TOKEN_REVOKED',
  MFA_INVALID_CODE = 'MFA_INVALID_CODE',
  FORBIDDEN = 'FORBIDDEN',
  IP_NOT_ALLOWED = 'IP_NOT_ALLOWED',
  CSRF_FAILED = 'CSRF_FAILED',
  ACCOUNT_SUSPENDED = 'ACCOUNT_SUSPENDED',
  NOT_FOUND = 'NOT_FOUND',
  CONFLICT = 'CONFLICT',
  PAYLOAD_TOO_LARGE = 'PAYLOAD_TOO_LARGE',
  TOO_MANY_ATTEMPTS = 'TOO_MANY_ATTEMPTS',
  SERVICE_UNAVAILABLE = 'SERVICE_UNAVAILABLE',
  INTERNAL_ERROR = 'INTERNAL_ERROR',
}

export const ERROR_STATUS: Readonly<Record<ErrorCode, number>> = {
  [ErrorCode.VALIDATION_FAILED]: 400,
  [ErrorCode.INVALID_CREDENTIALS]: 401,
  [ErrorCode.TOKEN_MISSING]: 401,
  [ErrorCode.TOKEN_INVALID]: 401,
  [ErrorCode.TOKEN_EXPIRED]: 401,
  [ErrorCode.TOKEN_REVOKED]: 401,
  [ErrorCode.MFA_INVALID_CODE]: 401,
  [ErrorCode.FORBIDDEN]: 403,
  [ErrorCode.IP_NOT_ALLOWED]: 403,
  [ErrorCode.CSRF_FAILED]: 403,
  [ErrorCode.ACCOUNT_SUSPENDED]: 403,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.PAYLOAD_TOO_LARGE]: 413,
  [ErrorCode.TOO_MANY_ATTEMPTS]: 429,
  [ErrorCode.SERVICE_UNAVAILABLE]: 503,
  [ErrorCode.INTERNAL_ERROR]: 500,
};

const DEFAULT_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  [ErrorCode.VALIDATION_FAILED]: 'The request is invalid.',
  [ErrorCode.INVALID_CREDENTIALS]: 'The email or password is incorrect.',
  [ErrorCode.TOKEN_MISSING]: 'Authentication is required.',
  [ErrorCode.TOKEN_INVALID]: 'The token is invalid.',
  [ErrorCode.TOKEN_EXPIRED]: 'The token has expired.',
  [ErrorCode.TOKEN_REVOKED]: 'The token has been revoked.',
  [ErrorCode.MFA_INVALID_CODE]: 'The code is incorrect.',
  [ErrorCode.FORBIDDEN]: 'You are not allowed to do this.',
  [ErrorCode.IP_NOT_ALLOWED]: 'Requests from this address are not allowed.',
  [ErrorCode.CSRF_FAILED]: 'The CSRF token is missing or does not match.',
  [ErrorCode.ACCOUNT_SUSPENDED]: 'The account is suspended.',
  [ErrorCode.NOT_FOUND]: 'Not found.',
  [ErrorCode.CONFLICT]: 'The request conflicts with the current state.',
  [ErrorCode.PAYLOAD_TOO_LARGE]: 'The request body is too large.',
  [ErrorCode.TOO_MANY_ATTEMPTS]: 'Too many attempts. Try again later.',
  [ErrorCode.SERVICE_UNAVAILABLE]: 'The service is temporarily unavailable.',
  [ErrorCode.INTERNAL_ERROR]: 'An unexpected error occurred.',
};

export function defaultMessage(code: ErrorCode): string {
  return DEFAULT_MESSAGES[code];
}

/** Codes that mean a presented credential was rejected: logged and counted as auth failures. */
export const CREDENTIAL_REJECTIONS: ReadonlySet<ErrorCode> = new Set([
  ErrorCode.INVALID_CREDENTIALS,
  ErrorCode.TOKEN_MISSING,
  ErrorCode.TOKEN_INVALID,
  ErrorCode.TOKEN_EXPIRED,
  ErrorCode.TOKEN_REVOKED,
  ErrorCode.MFA_INVALID_CODE,
  ErrorCode.FORBIDDEN,
  ErrorCode.IP_NOT_ALLOWED,
  ErrorCode.CSRF_FAILED,
  ErrorCode.ACCOUNT_SUSPENDED,
  ErrorCode.TOO_MANY_ATTEMPTS,
]);
