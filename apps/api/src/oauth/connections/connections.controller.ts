import { Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { CredentialRoute } from '../../retailer/impersonation.guard';
import { CurrentPrincipal, RetailerPrincipal } from '../../retailer/retailer-principal';
import { RequirePermission } from '../../roles/require-permission.decorator';
import { ConnectionsService } from './connections.service';

@ApiTags('oauth')
@Controller('oauth/connections')
export class ConnectionsController {
  constructor(private readonly connections: ConnectionsService) {}

  @Get()
  @RequirePermission('settings', 'read')
  @ApiOperation({ summary: "The retailer's connections: platform, shop, scopes, status, connectedAt (never a token)" })
  list(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.connections.list(principal);
  }

  @Delete(':id')
  @RequirePermission('settings', 'write')
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'Unlink: revoked at the platform where it offers that, deleted here, audit-logged' })
  remove(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    return this.connections.remove(principal, id, requestContext(req));
  }
}
