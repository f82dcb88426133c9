import { Controller, Get, Query } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiError, ErrorCode } from '@app/common/errors';
import { RetailerAuth } from '../retailer/retailer-auth.decorator';
import { CurrentPrincipal, RetailerPrincipal } from '../retailer/retailer-principal';
import { AuditLogQueryDto } from './audit-log-query.dto';
import { AuditService } from './audit.service';

@ApiTags('audit')
@Controller('audit-logs')
export class AuditLogController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @RetailerAuth()
  @ApiOperation({ summary: "The retailer's audit log, newest first (owners and admins)" })
  list(@CurrentPrincipal() principal: RetailerPrincipal, @Query() query: AuditLogQueryDto) {
    if (!principal.permissions.includes('audit_logs:read')) throw new ApiError(ErrorCode.FORBIDDEN);
    return this.audit.query(principal.retailerId, query);
  }
}
