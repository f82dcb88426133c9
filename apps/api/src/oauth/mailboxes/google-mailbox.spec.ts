import { OAuth2Client } from 'google-auth-library';
import { gaxiosFailure } from './google-mailbox.service';

describe('Gmail linking with google-auth-library', () => {
  it("uses the very OAuth2Client class googleapis exposes as google.auth.OAuth2 (googleapis itself is not loaded by the service)", () => {
    const { google } = require('googleapis') as typeof import('googleapis');
    expect(google.auth.OAuth2).toBe(OAuth2Client);
  });

  it('tells the failures of a provider call apart', () => {
    expect(gaxiosFailure({ response: { status: 500 } })).toEqual({ failure: 'server_error', status: 500 });
    expect(gaxiosFailure({ response: { status: 400 } })).toEqual({ failure: 'refused', status: 400 });
    expect(gaxiosFailure({ code: 'TimeoutError', name: 'GaxiosError' })).toEqual({ failure: 'timeout' });
    expect(gaxiosFailure({ name: 'GaxiosError', cause: { name: 'TimeoutError' } })).toEqual({ failure: 'timeout' });
    expect(gaxiosFailure({ code: 'ECONNREFUSED' })).toEqual({ failure: 'unreachable' });
  });
});
