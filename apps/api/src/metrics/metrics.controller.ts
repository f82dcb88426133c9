import { Controller, Get, Headers, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { safeEqual } from '@app/common/crypto';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RawResponse, setHeader, type HttpResponse } from '@app/common/http';
import { MetricsService } from '@app/common/metrics';

@ApiTags('operations')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Public for scrapers on the internal network, unless METRICS_TOKEN asks for a Bearer token. */
  @Get()
  @Public()
  @RawResponse()
  @ApiOperation({ summary: 'Prometheus metrics: request counts and latencies by route and status, auth failures by code' })
  async scrape(@Headers('authorization') authorization: string | undefined, @Res() res: HttpResponse): Promise<void> {
    const expected = this.config.http.metricsToken;
    if (expected) {
      const presented = /^Bearer (.+)$/i.exec(authorization ?? '')?.[1];
      if (!presented) throw new ApiError(ErrorCode.TOKEN_MISSING);
      if (!safeEqual(presented, expected)) throw new ApiError(ErrorCode.TOKEN_INVALID);
    }
    setHeader(res, 'Content-Type', this.metrics.registry.contentType);
    res.send(await this.metrics.render());
  }
}
