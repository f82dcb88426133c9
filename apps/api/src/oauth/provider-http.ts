import { ApiError, ErrorCode } from '@app/common/errors';

/** How a provider call failed; the message names the provider, never a token or secret. */
export type ProviderFailure = 'timeout' | 'unreachable' | 'refused' | 'server_error' | 'bad_answer';

export interface ProviderAnswer {
  status: number;
  json: unknown;
}

export interface ProviderCall {
  /** "Shopify", "BigCommerce": used in error messages. */
  provider: string;
  /** What was asked, for error messages: "token exchange", "revocation". */
  what: string;
  timeoutMs: number;
}

/**
 * One HTTP call to a provider, with the whole exchange (connect, headers, body) bounded by
 * `OAUTH_HTTP_TIMEOUT` so a provider that hangs cannot hold a request open, redirects refused
 * (a token endpoint never redirects), and every failure turned into a clear ApiError:
 * unreachable, timed out or 5xx → 503 SERVICE_UNAVAILABLE; 4xx (a refused code) → 401
 * TOKEN_INVALID. Node's own fetch (undici) does the work; no client library needed.
 */
export async function callProvider(url: string, init: RequestInit, call: ProviderCall): Promise<ProviderAnswer> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(call.timeoutMs) });
    text = await res.text();
  } catch (err) {
    const timedOut = (err as Error)?.name === 'TimeoutError' || (err as Error)?.name === 'AbortError';
    throw providerError(timedOut ? 'timeout' : 'unreachable', call);
  }
  if (res.status >= 500) throw providerError('server_error', call, res.status);
  if (res.status >= 400) throw providerError('refused', call, res.status);
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    throw providerError('bad_answer', call, res.status);
  }
  return { status: res.status, json };
}

export function providerError(failure: ProviderFailure, call: Pick<ProviderCall, 'provider' | 'what' | 'timeoutMs'>, status?: number): ApiError {
  const { provider, what } = call;
  switch (failure) {
    case 'timeout':
      return new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${provider} did not answer the ${what} within ${Math.round(call.timeoutMs / 1000)} s. Nothing was stored; try again.`);
    case 'unreachable':
      return new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${provider} could not be reached for the ${what}. Nothing was stored; try again.`);
    case 'server_error':
      return new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${provider} failed the ${what} (HTTP ${status}). Nothing was stored; try again.`);
    case 'refused':
      return new ApiError(ErrorCode.TOKEN_INVALID, `${provider} refused the ${what} (HTTP ${status}): the authorization code is invalid, expired or already used.`);
    case 'bad_answer':
      return new ApiError(ErrorCode.SERVICE_UNAVAILABLE, `${provider} gave an unexpected answer to the ${what}. Nothing was stored.`);
  }
}

/** A JSON POST with the usual headers. */
export function postJson(url: string, body: unknown, call: ProviderCall, headers: Record<string, string> = {}): Promise<ProviderAnswer> {
  return callProvider(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: JSON.stringify(body) }, call);
}

export const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);
export const nonEmptyString = (value: unknown, max = 4096): value is string => typeof value === 'string' && value.length > 0 && value.length <= max;
