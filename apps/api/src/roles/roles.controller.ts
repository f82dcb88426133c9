import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { CreateRoleDto, UpdateRoleDto } from './dto/role.dto';
import { RequirePermission } from './require-permission.decorator';
import { RolesService } from './roles.service';

/**
 * Custom roles are part of the retailer's settings: listing them needs settings:read, changing
 * them settings:write (owner and admin among the predefined roles, and never a custom role).
 */
@ApiTags('roles')
@Controller('roles')
export class RolesController {
  constructor(private readonly roles: RolesService) {}

  @Get()
  @RequirePermission('settings', 'read')
  @ApiOperation({ summary: "The retailer's custom roles" })
  list(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.roles.list(principal);
  }

  @Post()
  @RequirePermission('settings', 'write')
  @ApiOperation({ summary: 'Create a custom role {name, permissions: {resource: [actions]}}' })
  create(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: CreateRoleDto, @Req() req: HttpRequest) {
    return this.roles.create(principal, dto, requestContext(req));
  }

  @Patch(':id')
  @RequirePermission('settings', 'write')
  @ApiOperation({ summary: "Rename a custom role or replace its permissions; applies to its members' next request" })
  update(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Body() dto: UpdateRoleDto, @Req() req: HttpRequest) {
    return this.roles.update(principal, id, dto, requestContext(req));
  }

  @Delete(':id')
  @RequirePermission('settings', 'write')
  @HttpCode(200)
  @ApiOperation({ summary: 'Delete a custom role no member has (409 otherwise)' })
  async remove(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    await this.roles.remove(principal, id, requestContext(req));
    return { deleted: true };
  }
}
