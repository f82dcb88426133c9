import { ArgumentsHost, Catch, ExceptionFilter, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import { APP_LOGGER, AppLogger } from '../logging';
import { MetricsService } from '../metrics/metrics.service';
import { respondWithError } from './error-response';

/** The one place where errors become HTTP answers (see respondWithError). */
@Catch()
export class AllExceptionsFilter implements ExceptionFilter {
  constructor(
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly metrics: MetricsService,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    respondWithError(exception, http.getRequest<Request>(), http.getResponse<Response>(), this.logger, this.metrics);
  }
}
