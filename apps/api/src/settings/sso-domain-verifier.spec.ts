import { ConfigError } from '@app/common/config';
import { SsoDomainVerifier, verificationRecord } from './sso-domain-verifier';

describe('SsoDomainVerifier', () => {
  it.each([[[]], [['203.0.113.53']], [['127.0.0.1:5353', '[2001:db8::53]:53']]])('accepts SSO_DNS_SERVERS %j', (dnsServers) => {
    expect(() => new SsoDomainVerifier({ dnsServers, timeoutMs: 500 })).not.toThrow();
  });

  it.each([[['dns.example.net']], [['203.0.113.53', 'not an address']]])('refuses SSO_DNS_SERVERS %j at start, naming the variable', (dnsServers) => {
    expect(() => new SsoDomainVerifier({ dnsServers, timeoutMs: 500 })).toThrow(ConfigError);
    expect(() => new SsoDomainVerifier({ dnsServers, timeoutMs: 500 })).toThrow(/SSO_DNS_SERVERS/);
  });
});

describe('verificationRecord', () => {
  it('is a TXT record under _retail-auth. carrying the token', () => {
    expect(verificationRecord('acme.example', 'tok')).toEqual({ type: 'TXT', name: '_retail-auth.acme.example', value: 'retail-auth-domain-verification=tok' });
  });
});
