/**
 * The adapter comparison's subject: one route behind the service's own JWT strategy options
 * (`jwtStrategyOptions`: kid lookup in the key ring, HS256, audience, cookie or Bearer) and
 * guard base (`JwtAuthGuardFor`), cookies parsed, on Nest's Express or Fastify adapter, and
 * nothing else, so the two runs differ only in the adapter.
 *
 *   node -r ts-node/register/transpile-only -r tsconfig-paths/register bench/adapter-app.ts <express|fastify> <port>
 */
import 'reflect-metadata';
import { Controller, Get, Inject, Injectable, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PassportModule, PassportStrategy } from '@nestjs/passport';
import { Strategy } from 'passport-jwt';
import { AppConfig, loadAppConfig } from '@app/common/config';
import { assertCommonClaims, jwtStrategyOptions } from '../apps/api/src/tokens/jwt-strategy';
import { JwtAuthGuardFor } from '../apps/api/src/tokens/jwt-auth.guard';
import { KeyRing } from '../apps/api/src/tokens/key-ring';

const CONFIG = 'ADAPTER_BENCH_CONFIG';

@Injectable()
class ProbeJwtStrategy extends PassportStrategy(Strategy, 'probe-jwt') {
  constructor(@Inject(CONFIG) private readonly config: AppConfig) {
    super(jwtStrategyOptions(new KeyRing(config), config, { types: ['retailer'], audience: 'retailer', cookieName: (c) => c.http.retailerAccessCookieName }));
  }

  validate(_req: unknown, payload: Record<string, unknown>) {
    assertCommonClaims(payload, this.config.jwt.issuer);
    return { retailerId: payload.sub, userId: payload.uid };
  }
}

@Injectable()
class ProbeGuard extends JwtAuthGuardFor('probe-jwt') {}

@Controller('bench')
class ProbeController {
  @Get('retailer')
  @UseGuards(ProbeGuard)
  probe() {
    return { ok: true };
  }
}

async function main(): Promise<void> {
  const [adapter, port] = [process.argv[2], Number(process.argv[3])];
  const config = loadAppConfig(process.env);

  @Module({
    imports: [PassportModule],
    controllers: [ProbeController],
    providers: [{ provide: CONFIG, useValue: config }, ProbeJwtStrategy],
  })
  class ProbeModule {}

  if (adapter === 'fastify') {
    const { FastifyAdapter } = await import('@nestjs/platform-fastify');
    const fastifyCookie = (await import('@fastify/cookie')).default;
    const app = await NestFactory.create(ProbeModule, new FastifyAdapter(), { logger: false });
    await (app as unknown as { register(plugin: unknown): Promise<void> }).register(fastifyCookie);
    app.setGlobalPrefix('api/v1');
    await app.listen(port, '127.0.0.1');
  } else {
    // Express is loaded only for this comparison: the service itself runs on Fastify, and
    // @nestjs/platform-express and cookie-parser are devDependencies kept for this run.
    const cookieParser = (await import('cookie-parser')).default;
    const app = await NestFactory.create(ProbeModule, { logger: false });
    app.use(cookieParser());
    app.setGlobalPrefix('api/v1');
    await app.listen(port, '127.0.0.1');
  }
  process.stdout.write(`ready ${adapter} ${port}\n`);
}

main().catch((err) => {
  process.stderr.write(`adapter app failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
