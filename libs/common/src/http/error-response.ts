import { ApiError, errorBody } from '../errors/api-error';
import { CREDENTIAL_REJECTIONS, ErrorCode } from '../errors/error-codes';
import { toApiError } from '../errors/error-mapping';
import type { AppLogger } from '../logging/logger';
import type { MetricsService } from '../metrics/metrics.service';
import type { HttpRequest, HttpResponse } from './http-types';
import { pathOf } from './http-types';
import { clientIp } from './request-context';

/**
 * Turns anything thrown while serving a request into the contract's error envelope. Shared by
 * the global exception filter, which Nest also installs as Fastify's error handler (errors of the
 * body parser and of hooks) and not-found handler.
 */
export function respondWithError(
  err: unknown,
  req: HttpRequest,
  res: HttpResponse,
  logger: AppLogger,
  metrics?: MetricsService,
): void {
  const { error, unexpected } = toApiError(err);
  const requestId = req.id;
  if (unexpected) {
    logger.error({ requestId, method: req.method, path: pathOf(req), err }, 'unexpected error');
  } else if (error.code === ErrorCode.SERVICE_UNAVAILABLE) {
    logger.warn({ requestId, path: pathOf(req), err: (err as Error)?.message }, 'a backing store is unavailable');
  } else {
    reportRefusal(error, req, logger, metrics);
  }
  if (res.sent || res.raw.headersSent) {
    if (!res.raw.writableEnded) res.raw.end();
    return;
  }
  for (const [name, value] of Object.entries(error.headers ?? {})) res.header(name, value);
  if (error.code === ErrorCode.SERVICE_UNAVAILABLE && !res.getHeader('Retry-After')) res.header('Retry-After', '5');
  res.status(error.status).type('application/json; charset=utf-8').send(errorBody(error, requestId));
}

/**
 * Every rejected credential is logged with the request id, client address and reason code, and
 * counted. The global filter does it for every error it answers; a flow that answers a refusal
 * with a redirect instead (an SSO or mailbox callback) calls it itself, with its own details.
 */
export function reportRefusal(error: ApiError, req: HttpRequest, logger: AppLogger, metrics?: MetricsService, details: Record<string, unknown> = {}): void {
  if (!CREDENTIAL_REJECTIONS.has(error.code)) return;
  logger.warn({ requestId: req.id, ip: clientIp(req), reason: error.code, method: req.method, path: pathOf(req), ...details }, 'request refused');
  metrics?.authFailures.inc({ code: error.code });
}

export { ApiError };
