import { ErrorDetail } from '../errors/api-error';
import { isCommonPassword } from './common-passwords';

/** bcrypt ignores every byte past the 72nd, so longer passwords are refused rather than truncated. */
export const PASSWORD_MAX_BYTES = 72;

export interface PasswordPolicyOptions {
  /** Minimum length in Unicode code points (PASSWORD_MIN_LENGTH). */
  minLength: number;
  /** Also require an upper-case letter, a lower-case letter, a digit and a special character. */
  requireClasses: boolean;
  /** Field named in the details; `password` by default (e.g. `newPassword` on change). */
  field?: string;
  /** The account's email: the password may not equal it or its local part. */
  email?: string;
}

/** The rule names that appear as `rule` in the details. */
export type PasswordRule = 'type' | 'min_length' | 'max_bytes' | 'common' | 'contains_email' | 'classes';

/** True when the password has more UTF-8 bytes than bcrypt uses. Non-strings are not "too long". */
export function exceedsBcryptLimit(pw: string): boolean {
  return typeof pw === 'string' && Buffer.byteLength(pw, 'utf8') > PASSWORD_MAX_BYTES;
}

const CLASSES: { name: string; test: RegExp }[] = [
  { name: 'upper', test: /\p{Lu}/u },
  { name: 'lower', test: /\p{Ll}/u },
  { name: 'digit', test: /\p{Nd}/u },
  { name: 'special', test: /[^\p{L}\p{N}]/u },
];

/**
 * Checks a new password against the contract's rules and returns one detail per broken rule
 * (empty when it passes), for a 400 VALIDATION_FAILED. Never throws, whatever it is given.
 */
export function checkPasswordPolicy(password: string, options: PasswordPolicyOptions): ErrorDetail[] {
  const field = options.field ?? 'password';
  const fail = (rule: PasswordRule, message: string, extra: Record<string, unknown> = {}): ErrorDetail => ({
    field,
    rule,
    message,
    ...extra,
  });

  if (typeof password !== 'string') return [fail('type', 'must be a string')];

  const details: ErrorDetail[] = [];
  const codePoints = [...password].length;
  if (codePoints < options.minLength) {
    details.push(fail('min_length', `must be at least ${options.minLength} characters long`, { minLength: options.minLength }));
  }
  if (exceedsBcryptLimit(password)) {
    details.push(fail('max_bytes', `must be at most ${PASSWORD_MAX_BYTES} bytes long`, { maxBytes: PASSWORD_MAX_BYTES }));
  }
  if (isCommonPassword(password)) {
    details.push(fail('common', 'is too common; choose a less predictable password'));
  }
  if (matchesEmail(password, options.email)) {
    details.push(fail('contains_email', 'must not be your email address'));
  }
  if (options.requireClasses) {
    const missing = CLASSES.filter((c) => !c.test.test(password)).map((c) => c.name);
    if (missing.length) {
      details.push(
        fail('classes', 'must contain an upper-case letter, a lower-case letter, a digit and a special character', {
          missing,
        }),
      );
    }
  }
  return details;
}

/**
 * The password equals the email, or its local part when that has at least 4 characters
 * (a shorter local part such as `jo` is not worth refusing), ignoring case.
 */
function matchesEmail(password: string, email: string | undefined): boolean {
  if (typeof email !== 'string') return false;
  const address = email.trim().toLowerCase();
  if (!address) return false;
  const candidate = password.toLowerCase();
  if (candidate === address) return true;
  const at = address.lastIndexOf('@');
  const local = at > 0 ? address.slice(0, at) : '';
  return [...local].length >= 4 && candidate === local;
}
