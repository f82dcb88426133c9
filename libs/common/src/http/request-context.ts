import { UAParser } from 'ua-parser-js';
import type { HttpRequest } from './http-types';

/** What the service records about the caller of a request (audit rows, logs). */
export interface RequestContext {
  requestId: string;
  ip: string;
  device: string;
  userAgent?: string;
}

/** `::ffff:10.1.2.3` is `10.1.2.3` (contract, Precise readings). */
export function normalizeIp(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const trimmed = ip.trim();
  return trimmed.toLowerCase().startsWith('::ffff:') && trimmed.includes('.') ? trimmed.slice(7) : trimmed;
}

/**
 * The client address: the socket's unless TRUST_PROXY trusts the hop (Fastify's `trustProxy`
 * does the walk over X-Forwarded-For, so a header from an untrusted peer is ignored).
 */
export function clientIp(req: HttpRequest): string {
  return normalizeIp(req.ip ?? req.socket?.remoteAddress);
}

/** "Chrome 120 on macOS 10.15.7", or the raw agent cut short when it parses to nothing. */
export function describeDevice(userAgent: string | undefined): string {
  if (!userAgent) return 'unknown';
  const r = new UAParser(userAgent).getResult();
  const browser = [r.browser.name, r.browser.major].filter(Boolean).join(' ');
  const os = [r.os.name, r.os.version].filter(Boolean).join(' ');
  const text = browser && os ? `${browser} on ${os}` : browser || os;
  return (text || userAgent).slice(0, 200);
}

export function requestContext(req: HttpRequest): RequestContext {
  const ua = req.headers['user-agent'];
  return { requestId: req.id ?? 'unknown', ip: clientIp(req), device: describeDevice(ua), userAgent: ua?.slice(0, 500) };
}
