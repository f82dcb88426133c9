import { randomBytes } from 'node:crypto';
import type { HttpRequest } from '@app/common/http';
import { MailboxStateCookie } from './mailbox-state-cookie';

const key = randomBytes(32);
const cookie = new MailboxStateCookie(key, true);
const STATE = 'a'.repeat(43);
const VERIFIER = 'v'.repeat(64);

const requestWith = (cookies: Record<string, string>) => ({ cookies }) as unknown as HttpRequest;

describe('MailboxStateCookie', () => {
  it('gives the verifier back to the browser that carries the sealed cookie of exactly this state', () => {
    const value = cookie.seal('google', { state: STATE, verifier: VERIFIER });
    expect(value).not.toContain(STATE);
    expect(value).not.toContain(VERIFIER);
    expect(cookie.read(requestWith({ mailbox_oauth_google: value }), 'google', STATE)).toEqual({ ok: true, verifier: VERIFIER });
  });

  it('refuses another state, another provider, another key, a damaged or missing cookie, and a cookie without a verifier', () => {
    const value = cookie.seal('google', { state: STATE, verifier: VERIFIER });
    expect(cookie.read(requestWith({ mailbox_oauth_google: value }), 'google', 'b'.repeat(43))).toEqual({ ok: false, reason: 'state_mismatch' });
    expect(cookie.read(requestWith({ mailbox_oauth_microsoft: value }), 'microsoft', STATE)).toEqual({ ok: false, reason: 'not_started_in_this_browser' });
    expect(new MailboxStateCookie(randomBytes(32), true).read(requestWith({ mailbox_oauth_google: value }), 'google', STATE)).toEqual({ ok: false, reason: 'not_started_in_this_browser' });
    expect(cookie.read(requestWith({ mailbox_oauth_google: `${value.slice(0, -2)}xx` }), 'google', STATE)).toEqual({ ok: false, reason: 'not_started_in_this_browser' });
    expect(cookie.read(requestWith({}), 'google', STATE)).toEqual({ ok: false, reason: 'not_started_in_this_browser' });
    const withoutVerifier = cookie.seal('google', { state: STATE });
    expect(cookie.read(requestWith({ mailbox_oauth_google: withoutVerifier }), 'google', STATE)).toEqual({ ok: false, reason: 'pkce_verifier_missing' });
    const shortVerifier = cookie.seal('google', { state: STATE, verifier: 'short' });
    expect(cookie.read(requestWith({ mailbox_oauth_google: shortVerifier }), 'google', STATE)).toEqual({ ok: false, reason: 'pkce_verifier_missing' });
  });
});
