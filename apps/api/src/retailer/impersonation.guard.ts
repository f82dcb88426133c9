import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { ApiError, ErrorCode } from '@app/common/errors';
import { requestContext } from '@app/common/http';
import { AuditService } from '../audit/audit.service';
import { RetailerPrincipal } from './retailer-principal';

const CREDENTIAL_ROUTE = 'impersonation:credential-route';
const ENDS_IMPERSONATION = 'impersonation:ends';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/**
 * A route that changes or mints the retailer's credentials (passwords, second factors, other
 * users' sessions, API keys, portal and Reactivate tokens): refused to an impersonating admin,
 * even one with full access.
 */
export const CredentialRoute = () => SetMetadata(CREDENTIAL_ROUTE, true);

/** An unsafe route that only ends the caller's own access (logout): allowed to read-only impersonators. */
export const EndsOwnAccess = () => SetMetadata(ENDS_IMPERSONATION, true);

/**
 * Runs after RetailerAuthGuard on every retailer route. For an admin acting as the retailer it
 * writes one audit row per request (the admin as actor, the retailer as subject, the reason),
 * then refuses with 403 FORBIDDEN what the impersonation may not do: any unsafe method when it is
 * read-only, credential routes always. Requests of the retailer's own users pass untouched.
 */
@Injectable()
export class ImpersonationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<Request>();
    const principal = req.user as RetailerPrincipal | undefined;
    const impersonation = principal?.impersonation;
    if (!impersonation) return true;
    const targets = [context.getHandler(), context.getClass()];
    let refusal: 'credentials' | 'read_only' | null = null;
    if (this.reflector.getAllAndOverride<boolean>(CREDENTIAL_ROUTE, targets)) refusal = 'credentials';
    else if (UNSAFE.has(req.method) && !impersonation.fullAccess && !this.reflector.getAllAndOverride<boolean>(ENDS_IMPERSONATION, targets)) refusal = 'read_only';

    await this.audit.record(
      {
        event: 'impersonated_request',
        actorType: 'admin',
        actorId: impersonation.adminId,
        retailerId: principal!.retailerId,
        impersonatorId: impersonation.adminId,
        status: refusal ? 'failure' : 'success',
        reason: impersonation.reason,
        metadata: {
          impersonationId: impersonation.id,
          method: req.method,
          route: (req.route as { path?: string } | undefined)?.path ?? req.path,
          fullAccess: impersonation.fullAccess,
          ...(refusal ? { refused: refusal } : {}),
        },
      },
      requestContext(req),
    );
    if (refusal === 'credentials') throw new ApiError(ErrorCode.FORBIDDEN, 'An impersonating admin cannot change or create the retailer\'s credentials.');
    if (refusal === 'read_only') throw new ApiError(ErrorCode.FORBIDDEN, 'This impersonation is read-only.');
    return true;
  }
}
