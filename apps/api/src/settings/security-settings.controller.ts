import { Body, Controller, Get, Put, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { UpdateIpAllowlistDto } from './dto/update-ip-allowlist.dto';
import { RetailerAllowlistService } from './retailer-allowlist.service';

/** The retailer's security settings (settings:read to see, settings:write to change). */
@ApiTags('settings')
@Controller('settings/security')
export class SecuritySettingsController {
  constructor(private readonly allowlist: RetailerAllowlistService) {}

  @Get('ip-allowlist')
  @RetailerAuth()
  @ApiOperation({ summary: "The retailer's IP allowlist: {enabled, cidrs}" })
  getIpAllowlist(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.allowlist.get(principal);
  }

  @Put('ip-allowlist')
  @RetailerAuth()
  @ApiOperation({ summary: "Replace the retailer's IP allowlist; a switched-on list must include the caller's own address" })
  putIpAllowlist(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: UpdateIpAllowlistDto, @Req() req: HttpRequest) {
    return this.allowlist.update(principal, dto, requestContext(req));
  }
}
