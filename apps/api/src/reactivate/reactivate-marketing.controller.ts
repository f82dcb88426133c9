import { Controller, Get } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiKeyPrincipal, CurrentApiKey } from '../api-key/api-key-principal';
import { ReactivateApiKeyAuth } from './reactivate-api-key.decorator';

@ApiTags('reactivate')
@Controller('reactivate/marketing')
export class ReactivateMarketingController {
  @Get('me')
  @ReactivateApiKeyAuth()
  @ApiOperation({ summary: 'The retailer and key behind a reactivate API key' })
  me(@CurrentApiKey() key: ApiKeyPrincipal) {
    return { retailerId: key.retailerId, keyId: key.keyId };
  }
}
