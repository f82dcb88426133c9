import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
import { APP_LOGGER, AppLogger } from '../logging';
import { MetricsService } from '../metrics/metrics.service';
import { respondWithError } from './error-response';
import type { HttpRequest, HttpResponse } from './http-types';

/** The one place where errors become HTTP answers (see respondWithError). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    respondWithError(exception, http.getRequest<HttpRequest>(), http.getResponse<HttpResponse>(), this.logger, this.metrics);
  }
}
