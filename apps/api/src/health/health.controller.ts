import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { ApiError, ErrorCode } from '@app/common/errors';
import { HealthService } from './health.service';

@ApiTags('operations')
@Public()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process is up and serving' })
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database (and Redis when configured) answer' })
  async ready() {
    const { ready, checks } = await this.health.readiness();
    if (!ready) {
      const details = Object.entries(checks)
        .filter(([, state]) => state === 'down')
        .map(([field]) => ({ field, message: `${field} is unreachable` }));
      throw new ApiError(ErrorCode.SERVICE_UNAVAILABLE, 'A required store is unreachable.', details);
    }
    return { status: 'ok', checks };
  }
}
