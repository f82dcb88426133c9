import { Controller, ExecutionContext, Get } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError } from '../errors/api-error';
import { AuthPolicyOf, DenyByDefaultGuard, Public } from './auth-policy';

@Controller()
class SampleController {
  @Get('open') @Public() open() {}
  @Get('guarded') @AuthPolicyOf('retailer') guarded() {}
  @Get('forgotten') forgotten() {}
}

@Public()
@Controller()
class PublicController {
  @Get() any() {}
}

function contextFor(cls: any, method: string): ExecutionContext {
  return { getHandler: () => cls.prototype[method], getClass: () => cls } as unknown as ExecutionContext;
}

describe('DenyByDefaultGuard', () => {
  const guard = new DenyByDefaultGuard(new Reflector());

  it('lets through public routes and routes with a module auth decorator', () => {
    expect(guard.canActivate(contextFor(SampleController, 'open'))).toBe(true);
    expect(guard.canActivate(contextFor(SampleController, 'guarded'))).toBe(true);
    expect(guard.canActivate(contextFor(PublicController, 'any'))).toBe(true);
  });

  it('refuses a route that declares no policy with FORBIDDEN', () => {
    try {
      guard.canActivate(contextFor(SampleController, 'forgotten'));
      throw new Error('expected a refusal');
    } catch (err) {
      expect(err).toBeInstanceOf(ApiError);
      expect((err as ApiError).status).toBe(403);
      expect((err as ApiError).code).toBe('FORBIDDEN');
    }
  });
});
