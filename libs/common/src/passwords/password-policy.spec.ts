import { checkPasswordPolicy, exceedsBcryptLimit, PASSWORD_MAX_BYTES } from './password-policy';

const STRONG = 'Correct-Horse-42-Battery';
const base = { minLength: 12, requireClasses: false };
const rules = (password: unknown, options: Parameters<typeof checkPasswordPolicy>[1] = base) =>
  checkPasswordPolicy(password as string, options).map((d) => d.rule);

describe('checkPasswordPolicy', () => {
  it('passes a strong password, with or without the class rule and an email', () => {
    expect(checkPasswordPolicy(STRONG, base)).toEqual([]);
    expect(checkPasswordPolicy(STRONG, { ...base, requireClasses: true, email: 'alice@example.com' })).toEqual([]);
  });

  it('min_length: 11 characters fail with a minimum of 12, 12 pass', () => {
    const details = checkPasswordPolicy('vT9qL2mZ8rW', base);
    expect(details).toEqual([expect.objectContaining({ field: 'password', rule: 'min_length', message: expect.any(String) })]);
    expect(rules('vT9qL2mZ8rWx')).toEqual([]);
  });

  it('min_length counts code points, not UTF-16 units', () => {
    // 11 emoji are 22 UTF-16 units and 44 bytes: still 11 characters
    expect(rules('🔑'.repeat(11))).toEqual(['min_length']);
    expect(rules('🔑'.repeat(12))).toEqual([]);
  });

  it('max_bytes: more than 72 UTF-8 bytes fail, 72 pass', () => {
    expect(rules('a'.repeat(73))).toEqual(['max_bytes']);
    expect(rules('a'.repeat(72))).toEqual([]);
    // 37 two-byte characters: 37 code points, 74 bytes
    expect(rules('é'.repeat(37))).toEqual(['max_bytes']);
    expect(rules('é'.repeat(36))).toEqual([]);
    // three-byte characters: 24 of them are exactly 72 bytes
    expect(rules('€'.repeat(24))).toEqual([]);
    expect(rules('€'.repeat(24) + 'x')).toEqual(['max_bytes']);
  });

  it('exceedsBcryptLimit and PASSWORD_MAX_BYTES', () => {
    expect(PASSWORD_MAX_BYTES).toBe(72);
    expect(exceedsBcryptLimit('é'.repeat(36))).toBe(false);
    expect(exceedsBcryptLimit('é'.repeat(36) + 'x')).toBe(true);
    expect(exceedsBcryptLimit(undefined as unknown as string)).toBe(false);
  });

  it('common: password1234 and a mixed-case common password fail', () => {
    expect(rules('password1234')).toEqual(['common']);
    expect(rules('PassWord1234')).toEqual(['common']);
    expect(rules('QWERTY123456')).toEqual(['common']);
  });

  it('contains_email: the email or its local part, ignoring case', () => {
    const options = { ...base, email: 'Christopher.Lee@Example.com' };
    expect(rules('christopher.lee', options)).toEqual(['contains_email']);
    expect(rules('CHRISTOPHER.LEE@example.COM', options)).toEqual(['contains_email']);
    expect(rules('christopher.lee!', options)).toEqual([]);
    expect(rules('christopher.lee', base)).toEqual([]);
  });

  it('contains_email: a local part under 4 characters is not refused', () => {
    expect(rules('abc', { minLength: 3, requireClasses: false, email: 'abc@example.com' })).toEqual([]);
    expect(rules('abcd', { minLength: 3, requireClasses: false, email: 'abcd@example.com' })).toEqual(['contains_email']);
  });

  it('classes only when required, naming what is missing', () => {
    expect(rules('vtqlmzrwxpkh')).toEqual([]);
    const details = checkPasswordPolicy('vtqlmzrwxpkh', { ...base, requireClasses: true });
    expect(details).toEqual([expect.objectContaining({ rule: 'classes', missing: ['upper', 'digit', 'special'] })]);
    expect(rules('Vtqlmzrwxpk9', { ...base, requireClasses: true })).toEqual(['classes']);
    expect(rules('Vtqlmzrwxp9!', { ...base, requireClasses: true })).toEqual([]);
    expect(rules('Ünïcödé wörd 9', { ...base, requireClasses: true })).toEqual([]);
  });

  it('names the given field', () => {
    expect(checkPasswordPolicy('vT9qL2m', { ...base, field: 'newPassword' })).toEqual([
      expect.objectContaining({ field: 'newPassword', rule: 'min_length' }),
    ]);
  });

  it('does not throw on non-string input', () => {
    for (const input of [undefined, null, 42, {}, ['password'], Symbol('x')]) {
      expect(() => checkPasswordPolicy(input as unknown as string, { ...base, requireClasses: true, email: 'a@b.c' })).not.toThrow();
      expect(rules(input)).toEqual(['type']);
    }
  });
});
