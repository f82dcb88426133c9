import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Query, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { AdminAuth, assertFullAccess, CurrentAdmin } from './admin-auth.decorator';
import { AdminPrincipal } from './admin-principal';
import { ImpersonateDto, RetailerSearchDto, SuspendDto } from './admin.dto';
import { AdminService } from './admin.service';

@ApiTags('admin')
@Controller('admin')
export class AdminController {
  constructor(private readonly admins: AdminService) {}

  @Get('retailers')
  @AdminAuth()
  @ApiOperation({ summary: 'Search retailers by name, user email or id; newest first, paginated' })
  search(@Query() query: RetailerSearchDto) {
    return this.admins.searchRetailers(query);
  }

  @Get('retailers/:id')
  @AdminAuth()
  @ApiOperation({ summary: 'A retailer with its users, keys, sessions and recent impersonations' })
  detail(@Param('id', new ParseUUIDPipe()) id: string) {
    return this.admins.retailerDetail(id);
  }

  @Post('retailers/:id/suspend')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Suspend: sessions and impersonations revoked, keys refused, sign-ins refused' })
  suspend(@CurrentAdmin() admin: AdminPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: SuspendDto, @Req() req: HttpRequest) {
    assertFullAccess(admin);
    return this.admins.suspend(admin, id, dto.reason, requestContext(req));
  }

  @Post('retailers/:id/unsuspend')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Lift a suspension: keys work again, sessions stay revoked' })
  unsuspend(@CurrentAdmin() admin: AdminPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    assertFullAccess(admin);
    return this.admins.unsuspend(admin, id, requestContext(req));
  }

  @Post('users/:id/unlock')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'Clear the lockout of a retailer user' })
  unlock(@CurrentAdmin() admin: AdminPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    assertFullAccess(admin);
    return this.admins.unlockUser(admin, id, requestContext(req));
  }

  @Post('impersonations')
  @AdminAuth()
  @ApiOperation({ summary: 'Act as a retailer: an admin token with act.sub, at most 1 h, audit-logged' })
  impersonate(@CurrentAdmin() admin: AdminPrincipal, @Body() dto: ImpersonateDto, @Req() req: HttpRequest) {
    return this.admins.impersonate(admin, dto, requestContext(req));
  }

  @Delete('impersonations/:id')
  @AdminAuth()
  @HttpCode(200)
  @ApiOperation({ summary: 'End an impersonation: its token is revoked everywhere' })
  end(@CurrentAdmin() admin: AdminPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    return this.admins.endImpersonation(admin, id, requestContext(req));
  }
}
