/** Keys whose values are secrets wherever they appear in a log record. */
const SECRET_KEY = /(pass(word|phrase)?|secret|token|authorization|cookie|api[-_]?key|^key$|private|otp|^code$|credential|signature|hmac)/i;

export const REDACTED = '[REDACTED]';

/**
 * Returns a copy of a log record with every secret-looking field replaced, at any depth.
 * Safety net only: call sites log no secrets in the first place.
 */
export function redactSecrets(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (Array.isArray(value)) return value.map((v) => redactSecrets(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    out[k] = SECRET_KEY.test(k) && v !== undefined && v !== null && typeof v !== 'boolean' ? REDACTED : redactSecrets(v, depth + 1);
  }
  return out;
}
