import { DynamicModule, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import cookieParser from 'cookie-parser';
import helmet from 'helmet';
import { AppConfig } from '@app/common/config';
import { jsonBody, requestTracking } from '@app/common/http';
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
): Promise<NestExpressApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config, logger, extraImports), {
    bodyParser: false,
    logger: new NestPinoLogger(logger),
    abortOnError: false,
  });
  const metrics = app.get(MetricsService);

  // The client address is the socket's unless the hop is trusted (X-Forwarded-For otherwise ignored).
  app.set('trust proxy', config.http.trustProxy);
  app.disable('x-powered-by');
  app.use(requestTracking(logger, metrics));
  app.use(helmet());
  app.enableCors({
    origin: config.http.corsOrigins.length ? config.http.corsOrigins : false,
    credentials: true,
    exposedHeaders: ['X-Request-Id', 'Retry-After'],
  });
  app.use(cookieParser());
  app.use(jsonBody(logger, metrics, RAW_BODY_PATHS));
  app.use(app.get(AuthContext).middleware());
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
  return app;
}
