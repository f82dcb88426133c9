import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { redirect, requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { CredentialRoute } from '../../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../../retailer/retailer-principal';
import { RequirePermission } from '../../roles/require-permission.decorator';
import type { MailboxProvider } from './mailbox-provider';
import { MailboxesService } from './mailboxes.service';

const CONNECT_SUMMARY = (name: string) =>
  `→ {authorizeUrl, expiresAt}: link a ${name} mailbox to the signed-in retailer (offline access, PKCE, single-use state; sets the browser-binding cookie, so call it with credentials)`;
const REDIRECT_QUERY = {
  name: 'redirect',
  required: false,
  description: 'The dashboard page the link returns to: exactly one of OAUTH_DASHBOARD_REDIRECTS (default OAUTH_DASHBOARD_URL)',
};
const CALLBACK_SUMMARY = (name: string) =>
  `${name} returns the browser here: checks the browser binding and state, redeems the code, stores the tokens encrypted, 302 to the dashboard with the outcome`;

/**
 * Outlook and Gmail mailbox linking. Thin: the flow is MailboxesService's. Connecting mints a
 * credential for the retailer (a mail-send grant), so it needs settings:write, like connecting a
 * store, and is refused to an impersonating admin.
 */
@ApiTags('oauth')
@Controller('oauth')
export class MailboxesController {
  constructor(private readonly mailboxes: MailboxesService) {}

  @Get('microsoft/connect')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: CONNECT_SUMMARY('Microsoft (Outlook)') })
  @ApiQuery(REDIRECT_QUERY)
  connectMicrosoft(@CurrentPrincipal() principal: RetailerPrincipal, @Query('redirect') redirect: unknown, @Res({ passthrough: true }) res: HttpResponse) {
    return this.mailboxes.connect('microsoft', principal, redirect, res);
  }

  @Get('google/connect')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @ApiOperation({ summary: CONNECT_SUMMARY('Google (Gmail)') })
  @ApiQuery(REDIRECT_QUERY)
  connectGoogle(@CurrentPrincipal() principal: RetailerPrincipal, @Query('redirect') redirect: unknown, @Res({ passthrough: true }) res: HttpResponse) {
    return this.mailboxes.connect('google', principal, redirect, res);
  }

  @Get('microsoft/callback')
  @Public()
  @ApiOperation({ summary: CALLBACK_SUMMARY('Microsoft') })
  callbackMicrosoft(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    return this.finish('microsoft', req, res);
  }

  @Get('google/callback')
  @Public()
  @ApiOperation({ summary: CALLBACK_SUMMARY('Google') })
  callbackGoogle(@Req() req: HttpRequest, @Res() res: HttpResponse) {
    return this.finish('google', req, res);
  }

  private async finish(provider: MailboxProvider, req: HttpRequest, res: HttpResponse): Promise<void> {
    const target = await this.mailboxes.callback(provider, req, res, requestContext(req));
    // The callback URL carried a code and a state: never leak it to the next page.
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    redirect(res, target);
  }
}
