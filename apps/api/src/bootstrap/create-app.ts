import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import fastifyCookie from '@fastify/cookie';
import fastifyHelmet from '@fastify/helmet';
import { AppConfig } from '@app/common/config';
import { ApiError } from '@app/common/errors';
import { BODY_LIMIT_BYTES, type HttpRequest, type HttpResponse, registerEtags, respondWithError, registerJsonBody, registerRequestTracking, requestIdOf } from '@app/common/http';
import { AppLogger, createLogger, NestPinoLogger } from '@app/common/logging';
import { MetricsService } from '@app/common/metrics';
import { AppModule } from '../app.module';
import { AuthContext } from '../tokens/auth-context';

export const API_PREFIX = 'api/v1';

/** Paths whose handlers need the exact bytes of the body (HMAC-signed webhooks). */
export const RAW_BODY_PATHS = [`/${API_PREFIX}/oauth/shopify/webhooks`];

/**
 * Builds a ready-to-listen instance of the service. main.ts and the end-to-end tests both start
 * the service through here, so tests exercise the same middleware, filters and guards.
 */
export async function createApp(
  config: AppConfig,
  logger: AppLogger = createLogger(config.log.level),
  extraImports: Array<Type | DynamicModule> = [],
): Promise<NestFastifyApplication> {
  const adapter = new FastifyAdapter({
    // The client address is the socket's unless the hop is trusted (X-Forwarded-For otherwise ignored).
    // (Fastify takes a hop count too, as Express did; its typings list only the other forms.)
    trustProxy: config.http.trustProxy as boolean | string[],
    genReqId: requestIdOf,
    bodyLimit: BODY_LIMIT_BYTES,
    // Routing as on Express before the move: a trailing slash and letter case do not matter,
    // and path parameters are not cut at Fastify's default 100 characters.
    routerOptions: { ignoreTrailingSlash: true, caseSensitive: false, maxParamLength: 2048 },
    // A URL the router cannot decode (malformed percent-encoding) gets the contract's envelope,
    // not Fastify's own error body (no hook has run yet, so the request id is set here too).
    frameworkErrors: (_error: Error, req: HttpRequest, reply: HttpResponse) => {
      reply.header('X-Request-Id', req.id);
      respondWithError(ApiError.validation([{ field: 'url', message: 'the URL is malformed (invalid percent-encoding)' }], 'The request URL is malformed.'), req, reply, logger);
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config, logger, extraImports), adapter, {
    bodyParser: false,
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  const metrics = app.get(MetricsService);
  const fastify = app.getHttpAdapter().getInstance();

  // Hooks run in the order added: the request id and access log first, as the first middleware did.
  registerRequestTracking(fastify, logger, metrics);
  await app.register(fastifyHelmet);
  app.enableCors({
    origin: config.http.corsOrigins.length ? config.http.corsOrigins : false,
    credentials: true,
    exposedHeaders: 'X-Request-Id,Retry-After',
    // Express's `cors` defaults, which clients saw before the move (@fastify/cors allows only
    // GET,HEAD,POST and refuses preflights without Origin by default).
    methods: 'GET,HEAD,PUT,PATCH,POST,DELETE',
    strictPreflight: false,
    // After the request-id, helmet and auth-context hooks (Nest would otherwise run CORS before
    // every hook, and a preflight answered there would lack X-Request-Id and helmet's headers),
    // and before the body parser, so its refusals carry the CORS headers too.
    hook: 'preParsing',
  });
  await app.register(fastifyCookie);
  registerJsonBody(fastify, RAW_BODY_PATHS);
  registerEtags(fastify);
  app.get(AuthContext).register(fastify);
  app.setGlobalPrefix(API_PREFIX);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Retail auth platform')
      .setDescription('Authentication and access for the analytics product. Contract: CONTRACT.md.')
      .setVersion('1')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'retailer')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'admin')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'portal')
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }, 'reactivate')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, 'api-key')
      .build(),
  );
  SwaggerModule.setup(`${API_PREFIX}/docs`, app, document, { jsonDocumentUrl: `${API_PREFIX}/docs-json` });

  await app.init();
  await fastify.ready();
  return app;
}
