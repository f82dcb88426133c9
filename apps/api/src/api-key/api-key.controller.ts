import { Body, Controller, Delete, Get, HttpCode, Param, ParseUUIDPipe, Post, Req } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { requestContext, type HttpRequest } from '@app/common/http';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { ApiKeyService } from './api-key.service';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { CredentialRoute } from '../retailer/impersonation.guard';

/** Key management for signed-in retailer users (api_keys:write to change, api_keys:read to list). */
@ApiTags('api-keys')
@Controller('api-keys')
export class ApiKeyController {
  constructor(private readonly keys: ApiKeyService) {}

  @Post()
  @RetailerAuth()
  @CredentialRoute()
  @ApiOperation({ summary: 'Create a key; the whole key is in this answer only' })
  create(@CurrentPrincipal() principal: RetailerPrincipal, @Body() dto: CreateApiKeyDto, @Req() req: HttpRequest) {
    return this.keys.create(principal, dto, requestContext(req));
  }

  @Get()
  @RetailerAuth()
  @ApiOperation({ summary: "The retailer's live keys, without secrets, with lastUsedAt" })
  list(@CurrentPrincipal() principal: RetailerPrincipal) {
    return this.keys.list(principal);
  }

  @Post(':id/rotate')
  @RetailerAuth()
  @CredentialRoute()
  @ApiOperation({ summary: 'A new key; the old one keeps working for API_KEY_ROTATION_GRACE' })
  rotate(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    return this.keys.rotate(principal, id, requestContext(req));
  }

  @Delete(':id')
  @RetailerAuth()
  @CredentialRoute()
  @HttpCode(200)
  @ApiOperation({ summary: 'Revoke a key, at once on every instance' })
  async revoke(@CurrentPrincipal() principal: RetailerPrincipal, @Param('id', new ParseUUIDPipe()) id: string, @Req() req: HttpRequest) {
    await this.keys.revoke(principal, id, requestContext(req));
    return { revoked: true };
  }
}
