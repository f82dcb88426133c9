import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req, Res, UseGuards } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuthPolicyOf, Public } from '@app/common/auth';
import { ApiError, ErrorCode } from '@app/common/errors';
import { requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { assertCsrf } from '../tokens/csrf';
import { ChangePasswordDto, ForgotPasswordDto, LoginDto, RefreshDto, RegisterDto, ResetPasswordDto } from './dto/auth.dto';
import { RefreshAuthGuard } from './refresh-auth.guard';
import { RetailerAuth } from './retailer-auth.decorator';
import { RetailerAuthService, SignedIn } from './retailer-auth.service';
import { CurrentPrincipal, RetailerPrincipal } from './retailer-principal';
import { REFRESH_COOKIE, SessionCookies } from './session-cookies';
import { CredentialRoute, EndsOwnAccess } from './impersonation.guard';

const NO_REFERRER = 'no-referrer';

@ApiTags('auth')
@Controller('auth')
export class RetailerController {
  constructor(
    private readonly auth: RetailerAuthService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('register')
  @Public()
  @ApiOperation({ summary: 'Create a retailer and its owner' })
  register(@Body() dto: RegisterDto, @Req() req: HttpRequest) {
    return this.auth.register(dto, requestContext(req));
  }

  @Post('login')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Sign in with email and password' })
  async login(@Body() dto: LoginDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    const outcome = await this.auth.login(dto, requestContext(req));
    // With a second factor on, the answer is the challenge (200, no cookies yet).
    return 'mfaRequired' in outcome ? outcome : this.signedIn(outcome, res);
  }

  @Post('refresh')
  @AuthPolicyOf('retailer-refresh', UseGuards(RefreshAuthGuard))
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'Rotate the refresh token (body or cookie), or extend the session of a live access token' })
  async refresh(@Body() dto: RefreshDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    const ctx = requestContext(req);
    if (dto.refreshToken !== undefined) return this.signedIn(await this.auth.refresh(dto.refreshToken, ctx), res);
    const cookie = (req.cookies as Record<string, string> | undefined)?.[REFRESH_COOKIE];
    if (cookie) {
      // A cookie-sent refresh token is a cookie-authenticated unsafe request.
      req.authSource = 'cookie';
      assertCsrf(req);
      return this.signedIn(await this.auth.refresh(cookie, ctx), res);
    }
    const principal = req.user as RetailerPrincipal | undefined;
    if (!principal) throw new ApiError(ErrorCode.TOKEN_MISSING);
    return this.signedIn(await this.auth.extend(principal, ctx), res);
  }

  @Post('logout')
  @RetailerAuth()
  @EndsOwnAccess()
  @HttpCode(200)
  async logout(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    await this.auth.logout(principal, requestContext(req));
    this.cookies.clear(res);
    return { loggedOut: true };
  }

  @Get('me')
  @RetailerAuth()
  me(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.auth.me(principal);
  }

  @Get('sessions')
  @RetailerAuth()
  sessions(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.auth.listSessions(principal);
  }

  @Delete('sessions/:id')
  @RetailerAuth()
  @CredentialRoute()
  async revokeSession(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    await this.auth.revokeSession(principal, id, requestContext(req));
    return { revoked: true };
  }

  @Delete('sessions')
  @RetailerAuth()
  @CredentialRoute()
  revokeOtherSessions(@CurrentPrincipal() principal: RetailerPrincipal, @Req() req: HttpRequest) {
    return this.auth.revokeOtherSessions(principal, requestContext(req));
  }

  @Post('password/forgot')
  @Public()
  @HttpCode(202)
  @ApiOperation({ summary: 'Email a single-use reset link (the same answer for unknown emails)' })
  async forgot(@Body() dto: ForgotPasswordDto, @Req() req: HttpRequest) {
    await this.auth.forgotPassword(dto.email, requestContext(req));
    return { message: 'If an account exists for this email, a reset link is on its way.' };
  }

  @Post('password/reset')
  @Public()
  @HttpCode(200)
  async reset(@Body() dto: ResetPasswordDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    setHeader(res, 'Referrer-Policy', NO_REFERRER);
    await this.auth.resetPassword(dto, requestContext(req));
    return { passwordReset: true };
  }

  @Post('password/change')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  async change(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: ChangePasswordDto, @Req() req: HttpRequest) {
    await this.auth.changePassword(principal, dto, requestContext(req));
    return { passwordChanged: true };
  }

  private signedIn(result: SignedIn, res: HttpResponse) {
    return this.cookies.signedIn(res, result);
  }
}
