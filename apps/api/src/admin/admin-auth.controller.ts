import { Body, Controller, Get, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { ApiError, ErrorCode } from '@app/common/errors';
import { requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { AdminAuth, CurrentAdmin } from './admin-auth.decorator';
import { AdminAuthService } from './admin-auth.service';
import { AdminPrincipal } from './admin-principal';
import { AdminMagicLinkDto, AdminMfaVerifyDto, AdminTokenDto, AdminTotpCodeDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Controller('admin')
export class AdminAuthController {
  constructor(
    private readonly auth: AdminAuthService,
    private readonly admins: AdminService,
  ) {}

  @Post('auth/magic-link')
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'Email an admin a single-use sign-in link (the same answer for unknown emails)' })
  async magicLink(@Body() dto: AdminMagicLinkDto, @Req() req: HttpRequest) {
    await this.auth.requestMagicLink(dto.email, requestContext(req));
    return { message: 'If an admin account exists for this email, a sign-in link is on its way.' };
  }

  @Post('auth/magic-link/verify')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with the link: an admin token and cookie, or the TOTP challenge' })
  verify(@Body() dto: AdminTokenDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    return this.auth.verifyMagicLink(dto.token, requestContext(req), res);
  }

  @Post('auth/mfa/verify')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Answer the TOTP challenge of an admin sign-in' })
  verifyMfa(@Body() dto: AdminMfaVerifyDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    return this.auth.verifyMfa(dto.mfaToken, dto.code, requestContext(req), res);
  }

  @Post('auth/logout')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke this admin token and clear the cookie' })
  async logout(@CurrentAdmin() admin: AdminPrincipal, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    await this.auth.logout(admin, requestContext(req), res);
    return { loggedOut: true };
  }

  @Post('auth/totp/setup')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'A new TOTP secret for this admin (inactive until enabled)' })
  setupTotp(@CurrentAdmin() admin: AdminPrincipal) {
    this.assertOwnCredentials(admin);
    return this.auth.setupTotp(admin);
  }

  @Post('auth/totp/enable')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Turn TOTP on with a first code; later sign-ins ask for it' })
  enableTotp(@CurrentAdmin() admin: AdminPrincipal, @Body() dto: AdminTotpCodeDto, @Req() req: HttpRequest) {
    this.assertOwnCredentials(admin);
    return this.auth.enableTotp(admin, dto.code, requestContext(req));
  }

  @Get('me')
  @AdminAuth()
  @ApiOperation({ summary: 'The signed-in admin' })
  me(@CurrentAdmin() admin: AdminPrincipal) {
    return this.admins.me(admin);
  }

  private assertOwnCredentials(admin: AdminPrincipal): void {
    if (admin.impersonatingRetailerId) throw new ApiError(ErrorCode.FORBIDDEN, 'An impersonation token cannot change admin credentials.');
  }
}
