import { Controller, Get, Param, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { redirect, requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { SsoService } from './sso.service';

/** SSO sign-in over OpenID Connect: docs/sso.md. */
@ApiTags('auth')
@Controller('auth/sso')
export class SsoController {
  constructor(private readonly sso: SsoService) {}

  @Get(':provider/start')
  @Public()
  @ApiQuery({ name: 'redirect', required: true, description: 'Where to return after the sign-in: exactly one of SSO_ALLOWED_REDIRECTS' })
  @ApiOperation({ summary: "302 to the provider (authorization code with PKCE S256, state and nonce bound to this browser); providers google, microsoft, okta and any configured by SSO_PROVIDERS" })
  async start(@Param('provider') provider: string, @Query('redirect') target: unknown, @Req() req: HttpRequest, @Res() res: HttpResponse) {
    const location = await this.sso.start(provider, target, req, res, requestContext(req));
    setHeader(res, 'Cache-Control', 'no-store');
    redirect(res, location);
  }

  @Get(':provider/callback')
  @Public()
  @ApiOperation({
    summary:
      'The provider returns here: checks state (single use, this browser), exchanges the code, verifies the ID token, signs the member in and 302s to the redirect ' +
      '(MFA challenge as #mfaToken=…&methods=…, failures as #error=CODE&message=…; an unproven state answers a JSON error)',
  })
  async callback(@Param('provider') provider: string, @Req() req: HttpRequest, @Res() res: HttpResponse) {
    // Set first, so error answers carry them too: the callback URL holds a code and a state.
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    setHeader(res, 'Cache-Control', 'no-store');
    const location = await this.sso.callback(provider, req, res, requestContext(req));
    redirect(res, location);
  }
}
