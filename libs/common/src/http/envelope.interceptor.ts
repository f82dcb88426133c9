import { CallHandler, ExecutionContext, Inject, Injectable, NestInterceptor, Optional, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { catchError, from, map, mergeMap, Observable, throwError } from 'rxjs';

const RAW_RESPONSE = 'http:raw-response';

/** For routes that answer something other than JSON (Prometheus text, redirects). */
export const RawResponse = () => SetMetadata(RAW_RESPONSE, true);

export interface SuccessBody<T> {
  success: true;
  data: T;
}

/** How a handler ended, for a ResponseObserver. */
export type HandlerOutcome = { ok: true } | { ok: false; error: unknown };

/**
 * Work that must be done, before the answer leaves, for some requests only (the audit row of an
 * impersonated request). Asked per request through the one global interceptor, so routes whose
 * requests it never concerns pay a function call, not an interceptor of their own.
 */
export interface ResponseObserver {
  observes(context: ExecutionContext): boolean;
  record(context: ExecutionContext, outcome: HandlerOutcome): Promise<unknown>;
}

export const RESPONSE_OBSERVERS = Symbol('RESPONSE_OBSERVERS');

/** Wraps every JSON answer in the contract's success envelope (and runs the response observers). */
@Injectable()
export class EnvelopeInterceptor implements NestInterceptor {
  constructor(
    private readonly reflector: Reflector,
    @Optional() @Inject(RESPONSE_OBSERVERS) private readonly observers: ResponseObserver[] = [],
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const raw = this.reflector.getAllAndOverride<boolean>(RAW_RESPONSE, [context.getHandler(), context.getClass()]);
    const handled = this.observed(context, next.handle());
    if (raw) return handled;
    return handled.pipe(map((data): SuccessBody<unknown> => ({ success: true, data: data ?? null })));
  }

  private observed(context: ExecutionContext, handled: Observable<unknown>): Observable<unknown> {
    const observers = (this.observers ?? []).filter((o) => o.observes(context));
    if (!observers.length) return handled;
    const recordAll = (outcome: HandlerOutcome) => Promise.all(observers.map((o) => o.record(context, outcome)));
    return handled.pipe(
      mergeMap((value) => from(recordAll({ ok: true }).then(() => value))),
      catchError((error: unknown) => from(recordAll({ ok: false, error })).pipe(mergeMap(() => throwError(() => error)))),
    );
  }
}
