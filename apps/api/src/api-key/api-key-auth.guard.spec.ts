import { Controller, ExecutionContext, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '@app/common/errors';
import { ApiKeyAuth } from './api-key-auth.decorator';
import { ApiKeyAuthGuard } from './api-key-auth.guard';
import type { ApiKeyService, AuthenticateOptions } from './api-key.service';
import type { HttpRequest } from '@app/common/http';

@Controller('reporting')
class SampleController {
  @Get('me') @ApiKeyAuth() me() {}
  @Get('audit-logs') @ApiKeyAuth('audit_logs:read') auditLogs() {}
}

function contextFor(method: keyof SampleController, req: Partial<HttpRequest>): ExecutionContext {
  return {
    getHandler: () => SampleController.prototype[method],
    getClass: () => SampleController,
    switchToHttp: () => ({ getRequest: () => req }),
  } as unknown as ExecutionContext;
}

function fakeRequest(headers: Record<string, string | string[]>, query: Record<string, string> = {}): Partial<HttpRequest> {
  return { headers, query, ip: '::ffff:10.1.2.3', socket: {} as HttpRequest['socket'] } as Partial<HttpRequest>;
}

describe('ApiKeyAuthGuard', () => {
  const calls: Array<{ raw: string | undefined; options: AuthenticateOptions }> = [];
  const service = {
    authenticate: async (raw: string | undefined, options: AuthenticateOptions) => {
      calls.push({ raw, options });
      return { kind: 'api-key', retailerId: 'r1', keyId: 'k1', type: 'reporting', scopes: ['reporting:read'] };
    },
  } as unknown as ApiKeyService;
  const guard = new ApiKeyAuthGuard(new Reflector(), service);

  beforeEach(() => (calls.length = 0));

  it('reads the key from Bearer or X-API-Key, passes the route scope and the normalised client address, and sets the principal', async () => {
    const req = fakeRequest({ authorization: 'Bearer rk_live_r_key' });
    await expect(guard.canActivate(contextFor('auditLogs', req))).resolves.toBe(true);
    expect(calls[0]).toEqual({ raw: 'rk_live_r_key', options: { type: 'reporting', scope: 'audit_logs:read', ip: '10.1.2.3' } });
    expect(req.user).toMatchObject({ kind: 'api-key', keyId: 'k1' });

    await guard.canActivate(contextFor('me', fakeRequest({ 'x-api-key': 'rk_live_r_other' })));
    expect(calls[1]).toEqual({ raw: 'rk_live_r_other', options: { type: 'reporting', scope: undefined, ip: '10.1.2.3' } });
  });

  it('never reads the query string', async () => {
    await guard.canActivate(contextFor('me', fakeRequest({}, { api_key: 'rk_live_r_key', key: 'rk_live_r_key' })));
    expect(calls[0].raw).toBeUndefined();
  });

  it('refuses two different credentials, or a repeated X-API-Key header, with TOKEN_INVALID', async () => {
    const cases: Array<Record<string, string | string[]>> = [{ authorization: 'Bearer a', 'x-api-key': 'b' }, { 'x-api-key': ['a', 'b'] }];
    for (const headers of cases) {
      await expect(guard.canActivate(contextFor('me', fakeRequest(headers)))).rejects.toMatchObject({ code: 'TOKEN_INVALID' });
    }
    expect(calls).toHaveLength(0);
    await expect(guard.canActivate(contextFor('me', fakeRequest({ 'x-api-key': ['a', 'b'] })))).rejects.toBeInstanceOf(ApiError);
  });
});
