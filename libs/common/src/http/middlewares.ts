import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import express from 'express';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import type { AppLogger } from '../logging/logger';
import type { MetricsService } from '../metrics/metrics.service';
import { respondWithError } from './error-response';
import { clientIp } from './request-context';

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/;
export const BODY_LIMIT = '100kb';

/**
 * First middleware of every request: gives it an id (a sane incoming X-Request-Id is kept for
 * correlation), and on finish records metrics and one structured access-log line. The route
 * label is the matched pattern, never the raw path, so ids in paths do not explode cardinality.
 */
export function requestTracking(logger: AppLogger, metrics: MetricsService): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.headers['x-request-id'];
    req.id = typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Nest answers unknown paths from a catch-all route (`*path`): those are 'unmatched' too.
      const pattern: string | undefined = req.route?.path;
      const route = pattern && !pattern.includes('*') ? `${req.baseUrl ?? ''}${pattern}` : 'unmatched';
      metrics.observeRequest(req.method, route, res.statusCode, seconds);
      logger.info(
        { requestId: req.id, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1e5) / 100, ip: clientIp(req) },
        'request',
      );
    });
    next();
  };
}

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

function isJson(req: Request): boolean {
  return /^application\/([\w.+-]+\+)?json\b/i.test(String(req.headers['content-type'] ?? ''));
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/**
 * JSON bodies only, at most 100 kB. Parse failures, oversized bodies and bodies of another
 * content type are answered here with the contract's codes, before any route runs.
 * `rawBodyPaths` keep the exact bytes on `req.rawBody` (for HMAC-signed webhooks).
 */
export function jsonBody(logger: AppLogger, metrics: MetricsService, rawBodyPaths: string[] = []): RequestHandler {
  const parser = express.json({
    limit: BODY_LIMIT,
    strict: true,
    type: (req) => isJson(req as Request),
    verify: (req, _res, buf) => {
      const r = req as Request & { rawBody?: Buffer };
      if (rawBodyPaths.some((p) => r.originalUrl?.startsWith(p))) r.rawBody = Buffer.from(buf);
    },
  });
  return (req: Request, res: Response, next: NextFunction) => {
    if (UNSAFE.has(req.method) && hasBody(req)) {
      if (!isJson(req)) {
        const length = Number(req.headers['content-length'] ?? 0);
        const error =
          length > 100 * 1024
            ? new ApiError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is larger than 100 kB.')
            : ApiError.validation([{ field: 'content-type', message: 'The body must be JSON (Content-Type: application/json).' }]);
        req.resume();
        respondWithError(error, req, res, logger, metrics);
        return;
      }
    }
    parser(req, res, (err?: unknown) => (err ? respondWithError(err, req, res, logger, metrics) : next()));
  };
}
