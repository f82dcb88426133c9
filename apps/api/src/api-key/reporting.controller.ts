import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditLogQueryDto } from '../audit/audit-log-query.dto';
import { AuditService } from '../audit/audit.service';
import { ApiKeyAuth } from './api-key-auth.decorator';
import { ApiKeyPrincipal, CurrentApiKey } from './api-key-principal';

/** The reporting API, for integrations holding a reporting key. */
@ApiTags('reporting')
@Controller('reporting')
export class ReportingController {
  constructor(private readonly audit: AuditService) {}

  @Get('me')
  @ApiKeyAuth()
  @ApiOperation({ summary: 'The retailer and key behind the presented API key' })
  me(@CurrentApiKey() key: ApiKeyPrincipal) {
    return { retailerId: key.retailerId, keyId: key.keyId, scopes: key.scopes };
  }

  @Get('audit-logs')
  @ApiKeyAuth('audit_logs:read')
  @ApiOperation({ summary: "The key's retailer's audit log, as GET /audit-logs (scope audit_logs:read)" })
  auditLogs(@CurrentApiKey() key: ApiKeyPrincipal, @Query() query: AuditLogQueryDto) {
    return this.audit.query(key.retailerId, query);
  }
}
