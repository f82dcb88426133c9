import { createHmac } from 'node:crypto';
import { isShopHostname, queryPairs, signedMessage, signQuery, verifyQueryHmac, verifyWebhookHmac } from './shopify-signatures';

const SECRET = 'hush';

describe('Shopify signatures', () => {
  it('accepts only bare myshopify.com hostnames', () => {
    expect(isShopHostname('my-shop.myshopify.com')).toBe(true);
    expect(isShopHostname('0shop.myshopify.com')).toBe(true);
    for (const bad of ['evil.com', 'x.myshopify.com.evil.com', 'x.myshopify.com/@evil.com', 'x.myshopify.com:443', '-x.myshopify.com', 'X.myshopify.com', 'a.b.myshopify.com', '.myshopify.com', 'x.myshopify.com\n', 'https://x.myshopify.com', undefined, 42]) {
      expect({ bad, ok: isShopHostname(bad) }).toEqual({ bad, ok: false });
    }
  });

  it('signs the sorted query without hmac, as Shopify documents', () => {
    // Shopify's documented example message.
    const pairs = queryPairs('shop=some-shop.myshopify.com&code=0907a61c0c8d55e99db179b68161bc00&timestamp=1337178173&state=0.6784241404160823&hmac=x');
    expect(signedMessage(pairs!)).toBe('code=0907a61c0c8d55e99db179b68161bc00&shop=some-shop.myshopify.com&state=0.6784241404160823&timestamp=1337178173');
    const hmac = createHmac('sha256', SECRET).update(signedMessage(pairs!)).digest('hex');
    expect(signQuery(SECRET, pairs!)).toBe(hmac);
  });

  it('verifies in any hex case and refuses altered, missing or malformed hmacs', () => {
    const base: Array<[string, string]> = [['shop', 'a.myshopify.com'], ['code', 'c'], ['timestamp', '1']];
    const hmac = signQuery(SECRET, base);
    expect(verifyQueryHmac(SECRET, [...base, ['hmac', hmac]])).toBe(true);
    expect(verifyQueryHmac(SECRET, [...base, ['hmac', hmac.toUpperCase()]])).toBe(true);
    expect(verifyQueryHmac(SECRET, [['shop', 'b.myshopify.com'], ['code', 'c'], ['timestamp', '1'], ['hmac', hmac]])).toBe(false);
    expect(verifyQueryHmac(SECRET, base)).toBe(false);
    expect(verifyQueryHmac(SECRET, [...base, ['hmac', hmac.slice(0, 63)]])).toBe(false);
    expect(verifyQueryHmac('other', [...base, ['hmac', hmac]])).toBe(false);
  });

  it('refuses a query with a repeated key', () => {
    expect(queryPairs('shop=a&shop=b')).toBeNull();
  });

  it('checks webhook signatures over the exact bytes, base64 only', () => {
    const body = Buffer.from('{"id":1}');
    const digest = createHmac('sha256', SECRET).update(body).digest();
    expect(verifyWebhookHmac(SECRET, body, digest.toString('base64'))).toBe(true);
    expect(verifyWebhookHmac(SECRET, Buffer.from('{"id": 1}'), digest.toString('base64'))).toBe(false);
    expect(verifyWebhookHmac(SECRET, body, digest.toString('hex'))).toBe(false);
    expect(verifyWebhookHmac(SECRET, body, digest.toString('base64').slice(0, 40))).toBe(false);
    expect(verifyWebhookHmac(SECRET, body, digest.toString('base64url'))).toBe(false);
  });
});
