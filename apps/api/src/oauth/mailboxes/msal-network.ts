import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import type { ProviderFailure } from '../provider-http';

/** Answers larger than this are refused: MSAL reads discovery documents and token responses, all small. */
const MAX_BODY_BYTES = 1024 * 1024;

const OPENID_CONFIGURATION = '/.well-known/openid-configuration';

class NetworkFailure extends Error {
  constructor(readonly failure: ProviderFailure) {
    super(`Microsoft identity platform call failed: ${failure}`);
  }
}

/**
 * MSAL's network client for one operation (a link or a token acquisition). MSAL's own client
 * (fetch) puts no time limit on POSTs, so a token endpoint that hangs would hold the request
 * forever; this one bounds each whole exchange by OAUTH_HTTP_TIMEOUT, never follows redirects,
 * caps the answer's size, and remembers how the last call failed (MSAL wraps errors in its own
 * types), so the service can say "timed out" or "HTTP 500" and not a generic MSAL message.
 * node:https (not fetch) so NODE_EXTRA_CA_CERTS and the global agent's CA list apply, as for
 * any Node client of a private authority.
 */
export class MsalNetworkClient implements INetworkModule {
  /** How the most recent call failed; null when it got an answer. */
  failure: ProviderFailure | null = null;
  /** The HTTP status of the last answer >= 400 (for the error message). */
  lastErrorStatus: number | null = null;

  /** `onAuthorityMetadata` gets the authority's metadata document each time it answers 200 with JSON, to be reused. */
  constructor(
    private readonly timeoutMs: number,
    private readonly onAuthorityMetadata?: (document: string) => void,
  ) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions, timeout?: number): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options, timeout);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions = {}, timeout?: number): Promise<NetworkResponse<T>> {
    this.failure = null;
    this.lastErrorStatus = null;
    try {
      const answer = await this.exchange(method, url, options, Math.min(timeout ?? this.timeoutMs, this.timeoutMs));
      if (answer.status >= 400) this.lastErrorStatus = answer.status;
      // A 5xx is a failure of the provider: MSAL's answer to it would be a generic parse or
      // server error, so it stops here with a clear one (and MSAL does not retry).
      if (answer.status >= 500) throw new NetworkFailure('server_error');
      // Identity endpoints answer, they do not redirect (a redirect is not followed).
      if (answer.status >= 300 && answer.status < 400) throw new NetworkFailure('bad_answer');
      let body: unknown = {};
      try {
        body = answer.text ? JSON.parse(answer.text) : {};
      } catch {
        throw new NetworkFailure('bad_answer');
      }
      if (method === 'GET' && answer.status === 200 && new URL(url).pathname.endsWith(OPENID_CONFIGURATION)) this.onAuthorityMetadata?.(answer.text);
      return { status: answer.status, headers: answer.headers, body: body as T };
    } catch (err) {
      this.failure = err instanceof NetworkFailure ? err.failure : 'unreachable';
      throw err;
    }
  }

  private exchange(method: 'GET' | 'POST', url: string, options: NetworkRequestOptions, timeoutMs: number): Promise<{ status: number; headers: Record<string, string>; text: string }> {
    return new Promise((resolve, reject) => {
      const target = new URL(url);
      const send = target.protocol === 'https:' ? httpsRequest : target.protocol === 'http:' ? httpRequest : null;
      if (!send) return reject(new NetworkFailure('unreachable'));
      const body = method === 'POST' ? (options.body ?? '') : undefined;
      const headers: Record<string, string | number> = { ...(options.headers ?? {}) };
      if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
      // One deadline for connect, headers and body together.
      const timer = setTimeout(() => {
        req.destroy(new NetworkFailure('timeout'));
      }, timeoutMs);
      const req = send(target, { method, headers }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) req.destroy(new NetworkFailure('bad_answer'));
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
          resolve({ status: res.statusCode ?? 0, headers: flat, text: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', (err) => {
          clearTimeout(timer);
          reject(err);
        });
      });
      req.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}
