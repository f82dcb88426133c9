import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Public } from '@app/common/auth';
import { requestContext, setHeader, type HttpRequest, type HttpResponse } from '@app/common/http';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { SessionCookies } from '../retailer/session-cookies';
import { RequirePermission } from '../roles/require-permission.decorator';
import { CredentialRoute } from '../retailer/impersonation.guard';
import { AcceptInviteDto, InviteMemberDto, UpdateMemberDto } from './dto/team.dto';
import { TeamService } from './team.service';

/** Managing the team needs team:write (owner, admin); reading it team:read. */
@ApiTags('team')
@Controller('team')
export class TeamController {
  constructor(
    private readonly team: TeamService,
    private readonly cookies: SessionCookies,
  ) {}

  @Post('invite')
  @RequirePermission('team', 'write')
  // An invitation creates a credential that outlives an impersonation: admins may not send one.
  @CredentialRoute()
  @ApiOperation({ summary: 'Email a single-use invitation link valid INVITE_TTL (7 days)' })
  invite(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: InviteMemberDto, @Req() req: HttpRequest) {
    return this.team.invite(principal, dto, requestContext(req));
  }

  @Post('invite/accept')
  @Public()
  @HttpCode(200)
  @ApiOperation({ summary: 'Accept an invitation: creates the member and signs them in' })
  async accept(@Body() dto: AcceptInviteDto, @Req() req: HttpRequest, @Res({ passthrough: true }) res: HttpResponse) {
    setHeader(res, 'Referrer-Policy', 'no-referrer');
    return this.cookies.signedIn(res, await this.team.accept(dto, requestContext(req)));
  }

  @Get('invites')
  @RequirePermission('team', 'read')
  @ApiOperation({ summary: 'Pending invitations (not accepted, cancelled or expired), newest first; never the link' })
  invites(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.team.listInvites(principal);
  }

  @Delete('invites/:id')
  @RequirePermission('team', 'write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Cancel a pending invitation: its link stops working at once' })
  async cancelInvite(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    await this.team.cancelInvite(principal, id, requestContext(req));
    return { cancelled: true };
  }

  @Get('members')
  @RequirePermission('team', 'read')
  members(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.team.list(principal);
  }

  @Patch('members/:id')
  @RequirePermission('team', 'write')
  @ApiOperation({ summary: "Change a member's role or dashboards; a role change applies to their next request" })
  update(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: UpdateMemberDto, @Req() req: HttpRequest) {
    return this.team.update(principal, id, dto, requestContext(req));
  }

  @Delete('members/:id')
  @RequirePermission('team', 'write')
  @HttpCode(200)
  @ApiOperation({ summary: "Remove a member; their sessions are revoked at once" })
  async remove(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    await this.team.remove(principal, id, requestContext(req));
    return { removed: true };
  }
}
