import * as oidc from 'openid-client';
import { ErrorCode } from '@app/common/errors';
import { providerFailure } from './oidc-clients';

// What openid-client throws: a ClientError with a code, wrapping oauth4webapi's error and its details.
const clientError = (code: string, claim?: string) =>
  new (oidc.ClientError as unknown as new (message: string, options: { code: string; cause?: unknown }) => oidc.ClientError)('failed', {
    code,
    cause: claim ? new Error('inner', { cause: { claim } }) : undefined,
  });

describe('providerFailure', () => {
  it('an expired ID token is TOKEN_EXPIRED; a token not valid yet is TOKEN_INVALID', () => {
    expect(providerFailure(clientError('OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'exp'), 'okta', 'sign-in')?.code).toBe(ErrorCode.TOKEN_EXPIRED);
    expect(providerFailure(clientError('OAUTH_JWT_TIMESTAMP_CHECK_FAILED', 'iat'), 'okta', 'sign-in')?.code).toBe(ErrorCode.TOKEN_INVALID);
  });

  it('failed ID token checks are TOKEN_INVALID', () => {
    for (const code of ['OAUTH_JWT_CLAIM_COMPARISON_FAILED', 'OAUTH_KEY_SELECTION_FAILED', 'OAUTH_INVALID_RESPONSE']) {
      expect(providerFailure(clientError(code), 'google', 'sign-in')?.code).toBe(ErrorCode.TOKEN_INVALID);
    }
  });

  it('a provider that times out, cannot be reached or fails is SERVICE_UNAVAILABLE, saying nothing was stored', () => {
    for (const err of [clientError('OAUTH_TIMEOUT'), clientError('OAUTH_RESPONSE_IS_NOT_CONFORM'), new TypeError('fetch failed')]) {
      const mapped = providerFailure(err, 'microsoft', 'sign-in');
      expect(mapped?.code).toBe(ErrorCode.SERVICE_UNAVAILABLE);
      expect(mapped?.message).toMatch(/^Microsoft .*Nothing was stored/);
    }
  });

  it('is undefined for errors that are not openid-client failures (bugs stay 500s)', () => {
    expect(providerFailure(new Error('boom'), 'google', 'sign-in')).toBeUndefined();
    expect(providerFailure(new TypeError('x is not a function'), 'google', 'sign-in')).toBeUndefined();
  });
});
