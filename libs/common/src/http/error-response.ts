import type { Request, Response } from 'express';
import { ApiError, errorBody } from '../errors/api-error';
import { CREDENTIAL_REJECTIONS, ErrorCode } from '../errors/error-codes';
import { toApiError } from '../errors/error-mapping';
import type { AppLogger } from '../logging/logger';
import type { MetricsService } from '../metrics/metrics.service';
import { clientIp } from './request-context';

/**
 * Turns anything thrown while serving a request into the contract's error envelope. Shared by
 * the global exception filter and the middlewares that run before Nest's router (body parsing).
 */
export function respondWithError(
  err: unknown,
  req: Request,
  res: Response,
  logger: AppLogger,
  metrics?: MetricsService,
): void {
  const { error, unexpected } = toApiError(err);
  const requestId = req.id;
  if (unexpected) {
    logger.error({ requestId, method: req.method, path: req.path, err }, 'unexpected error');
  } else if (error.code === ErrorCode.SERVICE_UNAVAILABLE) {
    logger.warn({ requestId, path: req.path, err: (err as Error)?.message }, 'a backing store is unavailable');
  } else if (CREDENTIAL_REJECTIONS.has(error.code)) {
    // Every rejected credential is logged with the request id, client address and reason code.
    logger.warn({ requestId, ip: clientIp(req), reason: error.code, method: req.method, path: req.path }, 'request refused');
    metrics?.authFailures.inc({ code: error.code });
  }
  if (res.headersSent) {
    res.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) res.setHeader(name, value);
  if (error.code === ErrorCode.SERVICE_UNAVAILABLE && !res.getHeader('Retry-After')) res.setHeader('Retry-After', '5');
  res.status(error.status).json(errorBody(error, requestId));
}

export { ApiError };
