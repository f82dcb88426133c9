import { dictionary } from '@zxcvbn-ts/language-common';
import { commonPasswordCount, isCommonPassword } from './common-passwords';

describe('common passwords', () => {
  it('holds at least 10,000 entries from @zxcvbn-ts/language-common', () => {
    expect(commonPasswordCount()).toBeGreaterThanOrEqual(10_000);
    expect(commonPasswordCount()).toBe(new Set(dictionary['passwords-common'].map((p) => p.toLowerCase())).size);
  });

  it('matches case-insensitively', () => {
    expect(isCommonPassword('password')).toBe(true);
    expect(isCommonPassword('PassWord')).toBe(true);
    expect(isCommonPassword('password1234')).toBe(true);
    expect(isCommonPassword('QWERTY123456')).toBe(true);
  });

  it('does not flag a random password, the empty string or a non-string', () => {
    expect(isCommonPassword('vT9#qL2!mZ8@rW4$')).toBe(false);
    expect(isCommonPassword('')).toBe(false);
    expect(isCommonPassword(undefined as unknown as string)).toBe(false);
    expect(isCommonPassword(123456 as unknown as string)).toBe(false);
  });
});
