import { Body, Controller, Delete, HttpCode, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { requestContext, type HttpRequest, type HttpResponse } from '@app/common/http';
import { RetailerAuth } from '../retailer-auth.decorator';
import { RetailerAuthService } from '../retailer-auth.service';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer-principal';
import { SessionCookies } from '../session-cookies';
import { FactorCodeDto, MfaTokenDto, MfaVerifyDto, TotpCodeDto } from './dto/mfa.dto';
import { MfaService } from './mfa.service';
import { CredentialRoute } from '../impersonation.guard';

@ApiTags('mfa')
@Controller('auth/mfa')
export class MfaController {
  constructor(
    private readonly mfa: MfaService,
    private readonly auth: RetailerAuthService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('verify')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Complete a login challenge with a TOTP, backup or email code' })
  async verify(@Body() dto: MfaVerifyDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    const ctx = requestContext(req);
    const user = await this.mfa.verifyChallenge(dto.mfaToken, dto.method, dto.code, ctx);
    return this.cookies.signedIn(res, await this.auth.completeSignIn(user, 'mfa', ctx));
  }

  @Post('email-otp/send')
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'Email a 6-digit code for a login challenge (valid 10 minutes)' })
  async sendEmailCode(@Body() dto: MfaTokenDto, @Req() req: HttpRequest) {
    await this.mfa.sendEmailCode(dto.mfaToken, requestContext(req));
    return { sent: true };
  }

  @Post('totp/setup')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'A new TOTP secret with its otpauth URI and QR code (inactive until enabled)' })
  setupTotp(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.mfa.setupTotp(principal);
  }

  @Post('totp/enable')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'Turn TOTP on with a first code; answers the 10 backup codes, once' })
  enableTotp(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: TotpCodeDto, @Req() req: HttpRequest) {
    return this.mfa.enableTotp(principal, dto.code, requestContext(req));
  }

  @Delete('totp')
  @RetailerAuth()
  @CredentialRoute()
  @ApiOperation({ summary: 'Turn TOTP off with a current code (or a backup code)' })
  async disableTotp(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: FactorCodeDto, @Req() req: HttpRequest) {
    await this.mfa.disableTotp(principal, dto.code, requestContext(req));
    return { totpEnabled: false };
  }

  @Post('backup-codes')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'New backup codes (a current TOTP code required); the old set stops working' })
  regenerate(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: TotpCodeDto, @Req() req: HttpRequest) {
    return this.mfa.regenerateBackupCodes(principal, dto.code, requestContext(req));
  }

  @Post('email-otp/enable')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  async enableEmailOtp(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest) {
    await this.mfa.setEmailOtp(principal, true, requestContext(req));
    return { emailOtpEnabled: true };
  }

  @Delete('email-otp')
  @RetailerAuth()
  @CredentialRoute()
  async disableEmailOtp(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest) {
    await this.mfa.setEmailOtp(principal, false, requestContext(req));
    return { emailOtpEnabled: false };
  }
}
