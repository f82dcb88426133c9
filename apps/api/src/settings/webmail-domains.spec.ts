import { normalizeDomain } from './sso-settings.service';
import { isWebmailDomain } from './webmail-domains';

describe('normalizeDomain', () => {
  it('lowercases, trims and drops the root dot', () => {
    expect(normalizeDomain('  Acme.Example. ')).toBe('acme.example');
  });

  it('turns an IDN into its ASCII form', () => {
    expect(normalizeDomain('bücher.example')).toBe('xn--bcher-kva.example');
  });

  it.each(['acme', 'boss@acme.example', 'https://acme.example', 'acme.example/x', 'acme.example:443', '-acme.example', 'acme-.example', 'ac me.example', 'acme.123', '', '.'])(
    'refuses %p',
    (raw) => {
      expect(normalizeDomain(raw)).toBeNull();
    },
  );
});

describe('isWebmailDomain', () => {
  it.each(['gmail.com', 'outlook.com', 'hotmail.com', 'yahoo.com', 'icloud.com', 'yahoo.co.uk', 'outlook.fr', 'hotmail.com.br', 'gmx.de', 'proton.me'])('%s is webmail', (d) => {
    expect(isWebmailDomain(d)).toBe(true);
  });

  it.each(['acme.example', 'outlook.acme.com', 'mail.acme.com', 'gmail-fans.example'])('%s is not', (d) => {
    expect(isWebmailDomain(d)).toBe(false);
  });
});
