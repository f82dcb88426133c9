import { CallHandler, ExecutionContext, Injectable, NestInterceptor, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { map, Observable } from 'rxjs';

const RAW_RESPONSE = 'http:raw-response';

/** For routes that answer something other than JSON (Prometheus text, redirects). */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

export interface SuccessBody<T> {
  success: true;
  data: T;
}

/** Wraps every JSON answer in the contract's success envelope. */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(private readonly reflector: Reflector) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()]);
    if (raw) return next.handle();
    return next.handle().pipe(map((data): SuccessBody<unknown> => ({ success: true, data: data ?? null })));
  }
}
