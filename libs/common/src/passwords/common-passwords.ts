/**
 * The common-password list of the password policy.
 *
 * Source: the npm package `@zxcvbn-ts/language-common` (maintained by the zxcvbn-ts project,
 * MIT), `dictionary['passwords-common']`: a frequency-ranked array of 49,233 lower-case
 * passwords (4.1.3), shipped compressed and decoded by the package when it is first required.
 *
 * The package is required on first use rather than imported at the top, so that loading
 * @app/common (every spec and CLI command does) does not pay for decoding the list.
 */
type LanguageCommon = typeof import('@zxcvbn-ts/language-common');

let common: Set<string> | undefined;

function commonSet(): Set<string> {
  if (!common) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- lazy on purpose, see above
    const { dictionary } = require('@zxcvbn-ts/language-common') as LanguageCommon;
    common = new Set(dictionary['passwords-common'].map((password) => password.toLowerCase()));
  }
  return common;
}

/** True when the password, compared case-insensitively, is in the common-password list. */
export function isCommonPassword(pw: string): boolean {
  if (typeof pw !== 'string' || pw.length === 0) return false;
  return commonSet().has(pw.toLowerCase());
}

/** Number of distinct (lower-cased) entries in the list. */
export function commonPasswordCount(): number {
  return commonSet().size;
}
