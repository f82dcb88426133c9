import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { ApiError } from '../errors/api-error';
import { ErrorCode } from '../errors/error-codes';
import type { AppLogger } from '../logging/logger';
import type { MetricsService } from '../metrics/metrics.service';
import type { HttpRequest } from './http-types';
import { routePatternOf } from './http-types';
import { clientIp } from './request-context';

const INCOMING_ID = /^[A-Za-z0-9._:-]{1,64}$/;
export const BODY_LIMIT_BYTES = 100 * 1024;

/** Fastify's `genReqId`: a sane incoming X-Request-Id is kept for correlation, anything else is a UUID. */
export function requestIdOf(req: IncomingMessage): string {
  const incoming = req.headers['x-request-id'];
  return typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
}

const STARTED = Symbol('request-started');

/**
 * First hook of every request: echoes its id (see requestIdOf) in X-Request-Id, and once the
 * answer is sent records metrics and one structured access-log line. The route label is the
 * matched pattern, never the raw path, so ids in paths do not explode cardinality; unknown paths
 * are 'unmatched'.
 */
export function registerRequestTracking(fastify: FastifyInstance, logger: AppLogger, metrics: MetricsService): void {
  fastify.addHook('onRequest', (req, reply, done) => {
    (req as unknown as Record<symbol, bigint>)[STARTED] = process.hrtime.bigint();
    reply.header('X-Request-Id', req.id);
    done();
  });
  fastify.addHook('onResponse', (req, reply, done) => {
    const started = (req as unknown as Record<symbol, bigint | undefined>)[STARTED] ?? process.hrtime.bigint();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const route = routePatternOf(req) ?? 'unmatched';
    metrics.observeRequest(req.method, route, reply.statusCode, seconds);
    logger.info(
      { requestId: req.id, method: req.method, route, status: reply.statusCode, ms: Math.round(seconds * 1e5) / 100, ip: clientIp(req) },
      'request',
    );
    done();
  });
}

/** Express's default ETag: weak, the body's length and SHA-1. */
function weakEtag(body: string | Buffer): string {
  const buf = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (buf.length === 0) return 'W/"0-2jmj7l5rSw0yVb/vlWAYkK/YBwk"';
  return `W/"${buf.length.toString(16)}-${createHash('sha1').update(buf).digest('base64').slice(0, 27)}"`;
}

/** Whether the client's cached copy (If-None-Match) is still the answer, as Express's `req.fresh`. */
function isFresh(req: HttpRequest, etag: string): boolean {
  const noneMatch = req.headers['if-none-match'];
  if (!noneMatch) return false;
  if (/(?:^|,)\s*?no-cache\s*?(?:,|$)/.test(String(req.headers['cache-control'] ?? ''))) return false;
  if (noneMatch.trim() === '*') return true;
  const strip = (tag: string) => tag.trim().replace(/^W\//, '');
  return noneMatch.split(',').some((tag) => strip(tag) === strip(etag));
}

/**
 * Keeps what Express's `res.send` did for every body the service answers: a weak ETag, and
 * 304 Not Modified to a GET or HEAD whose If-None-Match still matches a 2xx answer. Redirects
 * (which Express answered without an ETag) and streamed bodies (the Swagger UI's assets, which
 * carry their own) are left alone.
 */
export function registerEtags(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (req, reply, payload, done) => {
    if ((typeof payload !== 'string' && !Buffer.isBuffer(payload)) || reply.hasHeader('location')) return done(null, payload);
    const etag = (reply.getHeader('etag') as string | undefined) ?? weakEtag(payload);
    reply.header('ETag', etag);
    const status = reply.statusCode;
    if ((req.method === 'GET' || req.method === 'HEAD') && ((status >= 200 && status < 300) || status === 304) && isFresh(req, etag)) {
      reply.code(304);
      reply.removeHeader('content-type');
      reply.removeHeader('content-length');
      reply.removeHeader('transfer-encoding');
      return done(null, '');
    }
    done(null, payload);
  });
}

/** Methods that may change state: they carry bodies, need CSRF proof with cookies, and are refused to read-only impersonations. */
export const UNSAFE_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const JSON_TYPE = /^application\/([\w.+-]+\+)?json\b/i;

function isJson(req: HttpRequest): boolean {
  return JSON_TYPE.test(String(req.headers['content-type'] ?? ''));
}

function hasBody(req: HttpRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

const tooLarge = () => new ApiError(ErrorCode.PAYLOAD_TOO_LARGE, 'The request body is larger than 100 kB.');
const badBody = (message: string) => ApiError.validation([{ field: 'body', message }]);

/** The body stream, inflated per Content-Encoding (as Express's JSON parser did). */
function decoded(req: HttpRequest, payload: Readable): Readable {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').toLowerCase();
  switch (encoding) {
    case 'identity':
      return payload;
    case 'gzip':
      return payload.pipe(createGunzip());
    case 'deflate':
      return payload.pipe(createInflate());
    case 'br':
      return payload.pipe(createBrotliDecompress());
    default:
      throw ApiError.validation([{ field: 'content-encoding', message: 'Unsupported content encoding.' }]);
  }
}

/** Reads at most BODY_LIMIT_BYTES (after inflation); the declared length must match what arrived. */
function readBody(req: HttpRequest, payload: Readable): Promise<Buffer> {
  const declared = req.headers['content-length'] === undefined ? undefined : Number(req.headers['content-length']);
  const identity = req.headers['content-encoding'] === undefined || String(req.headers['content-encoding']).toLowerCase() === 'identity';
  if (declared !== undefined && identity && declared > BODY_LIMIT_BYTES) {
    payload.resume();
    return Promise.reject(tooLarge());
  }
  return new Promise((resolve, reject) => {
    let stream: Readable;
    try {
      stream = decoded(req, payload);
    } catch (err) {
      payload.resume();
      reject(err);
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    let rawReceived = 0;
    let settled = false;
    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      payload.unpipe?.();
      payload.resume();
      reject(err);
    };
    if (stream !== payload) payload.on('data', (chunk: Buffer) => (rawReceived += chunk.length));
    stream.on('data', (chunk: Buffer) => {
      if (stream === payload) rawReceived += chunk.length;
      received += chunk.length;
      if (received > BODY_LIMIT_BYTES) fail(tooLarge());
      else chunks.push(chunk);
    });
    stream.on('error', () => fail(badBody(stream === payload ? 'The request was aborted.' : 'The body could not be decoded.')));
    payload.on('aborted', () => fail(badBody('The request was aborted.')));
    stream.on('end', () => {
      if (settled) return;
      if (declared !== undefined && rawReceived !== declared) {
        fail(badBody('The body length does not match Content-Length.'));
        return;
      }
      settled = true;
      resolve(Buffer.concat(chunks));
    });
  });
}

function charsetOf(req: HttpRequest): string {
  const match = /;\s*charset\s*=\s*"?([^";\s]+)"?/i.exec(String(req.headers['content-type'] ?? ''));
  return (match?.[1] ?? 'utf-8').toLowerCase();
}

/** Strict JSON (an object or an array at the top, as Express's parser with `strict: true`). */
function parseJson(req: HttpRequest, body: Buffer): unknown {
  if (body.length === 0) return {};
  const charset = charsetOf(req);
  if (!charset.startsWith('utf-')) {
    throw ApiError.validation([{ field: 'content-type', message: 'Unsupported charset.' }]);
  }
  let text: string;
  try {
    text = new TextDecoder(charset).decode(body);
  } catch {
    throw ApiError.validation([{ field: 'content-type', message: 'Unsupported charset.' }]);
  }
  // JSON's own whitespace (space, tab, LF, CR), as body-parser's strict check reads it.
  // eslint-disable-next-line no-control-regex
  const first = /^[\x20\x09\x0a\x0d]*(.)/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw badBody('The body is not valid JSON.');
  try {
    return JSON.parse(text);
  } catch {
    throw badBody('The body is not valid JSON.');
  }
}

/**
 * JSON bodies only, at most 100 kB, as the one content-type parser of the instance. Oversized
 * bodies (413), bodies of another content type on POST/PUT/PATCH/DELETE (400 VALIDATION_FAILED,
 * field "content-type") and invalid JSON (400) are refused here with the contract's codes,
 * before any guard or route runs; the error handler writes the envelope. `rawBodyPaths` keep
 * the exact bytes on `req.rawBody` (for HMAC-signed webhooks).
 */
export function registerJsonBody(fastify: FastifyInstance, rawBodyPaths: string[] = []): void {
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (req: HttpRequest, payload: Readable, done: (err: Error | null, body?: unknown) => void) => {
    if (!isJson(req)) {
      payload.resume();
      if (!UNSAFE_METHODS.has(req.method) || !hasBody(req)) {
        done(null, undefined);
        return;
      }
      const length = Number(req.headers['content-length'] ?? 0);
      done(
        length > BODY_LIMIT_BYTES
          ? tooLarge()
          : ApiError.validation([{ field: 'content-type', message: 'The body must be JSON (Content-Type: application/json).' }]),
      );
      return;
    }
    readBody(req, payload).then(
      (buf) => {
        if (!hasBody(req) && buf.length === 0) return done(null, undefined);
        if (rawBodyPaths.some((p) => req.url.startsWith(p))) req.rawBody = buf;
        let body: unknown;
        try {
          body = parseJson(req, buf);
        } catch (err) {
          return done(err as Error);
        }
        done(null, body);
      },
      (err: Error) => done(err),
    );
  });
}
