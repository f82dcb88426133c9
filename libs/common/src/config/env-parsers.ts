import { isIP } from 'node:net';

export type Env = Record<string, string | undefined>;

/** A configuration problem, reported at start as one line naming the variable. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Parses `10m`, `2h`, `30d`, `45s`, `500ms`, or a bare number of seconds, into milliseconds. */
export function parseDuration(value: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$/i.exec(value);
  if (!match) return undefined;
  const ms = Number(match[1]) * DURATION_UNITS[(match[2] ?? 's').toLowerCase()];
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

/** Reads one environment variable; blank counts as unset. */
export function read(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

export function durationMs(env: Env, name: string, fallback: string): number {
  const raw = read(env, name) ?? fallback;
  const ms = parseDuration(raw);
  if (ms === undefined) throw new ConfigError(name, `must be a duration like 45s, 10m, 2h or 30d (got "${raw}")`);
  return ms;
}

export function integer(env: Env, name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const raw = read(env, name);
  if (raw === undefined) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
  const n = Number(raw);
  if (n < min || n > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${n})`);
  return n;
}

export function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = read(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['true', '1', 'yes', 'on'].includes(raw)) return true;
  if (['false', '0', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false (got "${raw}")`);
}

export function list(env: Env, name: string): string[] {
  return (read(env, name) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A space- or comma-separated list of words (scopes, claim names); `fallback` when unset. */
export function words(env: Env, name: string, fallback: string): string[] {
  return (read(env, name) ?? fallback).split(/[\s,]+/).filter(Boolean);
}

export function url(env: Env, name: string, fallback?: string): string | undefined {
  const raw = read(env, name) ?? fallback;
  if (raw === undefined) return undefined;
  try {
    new URL(raw);
  } catch {
    throw new ConfigError(name, `must be a URL (got "${redactUrl(raw)}")`);
  }
  return raw;
}

/** Strips credentials from a URL so it can be printed. */
export function redactUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable)';
  }
}

const CIDR_RE = /^([0-9a-fA-F:.]+)(?:\/(\d{1,3}))?$/;

/** True for an IPv4 or IPv6 address, optionally with a prefix length that fits it. */
export function isCidr(value: string): boolean {
  const m = CIDR_RE.exec(value);
  if (!m) return false;
  const family = isIP(m[1]);
  if (!family) return false;
  if (m[2] === undefined) return true;
  const bits = Number(m[2]);
  return bits >= 0 && bits <= (family === 4 ? 32 : 128);
}

export type TrustProxy = boolean | number | string[];

/** `TRUST_PROXY`: false (default), true, a hop count, or a list of addresses, CIDRs or proxy-addr presets (Fastify's trustProxy). */
export function trustProxy(env: Env, name: string): TrustProxy {
  const raw = read(env, name);
  if (raw === undefined || raw.toLowerCase() === 'false') return false;
  if (raw.toLowerCase() === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  const entries = list(env, name);
  for (const entry of entries) {
    if (!['loopback', 'linklocal', 'uniquelocal'].includes(entry) && !isCidr(entry)) {
      throw new ConfigError(name, `has "${entry}", which is neither an address, a CIDR nor loopback/linklocal/uniquelocal`);
    }
  }
  return entries;
}

export interface RateLimitRule {
  points: number;
  durationMs: number;
}

/** A rate written `N/duration`, e.g. `100/15m`: at most N events per window. */
export function rate(env: Env, name: string, fallback: string): RateLimitRule {
  const raw = read(env, name) ?? fallback;
  const match = /^\s*(\d+)\s*\/\s*(.+)$/.exec(raw);
  const durationMs = match ? parseDuration(match[2]) : undefined;
  if (!match || durationMs === undefined || Number(match[1]) < 1) {
    throw new ConfigError(name, `must be a rate like 100/15m (got "${raw}")`);
  }
  return { points: Number(match[1]), durationMs };
}
