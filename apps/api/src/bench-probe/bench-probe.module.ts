import { performance } from 'node:perf_hooks';
import { Controller, Get, Module } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { ApiKeyAuth } from '../api-key/api-key-auth.decorator';
import { ApiKeyModule } from '../api-key/api-key.module';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { RetailerModule } from '../retailer/retailer.module';
import { SettingsModule } from '../settings/settings.module';

const body = { ok: true };

/**
 * One handler behind three policies, so `npm run bench` measures exactly what a guard costs:
 * nothing, RetailerAuthGuard (with the revocation and role-change checks, the IP allowlist and
 * the impersonation guard of every retailer route), ApiKeyAuthGuard. Mounted only when the
 * process starts with BENCH_PROBES=true outside production (see main.ts).
 */
@ApiExcludeController()
@Controller('bench')
export class BenchProbeController {
  @Get('open')
  @Public()
  open() {
    return body;
  }

  @Get('retailer')
  @RetailerAuth()
  retailer() {
    return body;
  }

  @Get('api-key')
  @ApiKeyAuth()
  apiKey() {
    return body;
  }

  /** The event loop's cumulative busy time, so a scenario can say how much of it each login costs. */
  @Get('event-loop')
  @Public()
  eventLoop() {
    const { active, idle } = performance.eventLoopUtilization();
    return { activeMs: active, idleMs: idle };
  }
}

@Module({ imports: [RetailerModule, ApiKeyModule, SettingsModule], controllers: [BenchProbeController] })
export class BenchProbeModule {}
