import { CanActivate, ExecutionContext, Injectable, SetMetadata } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ApiError, ErrorCode, toApiError } from '@app/common/errors';
import { type HandlerOutcome, requestContext, UNSAFE_METHODS, pathOf, type ResponseObserver, routePatternOf, type HttpRequest } from '@app/common/http';
import { AuditService } from '../audit/audit.service';
import { RetailerPrincipal } from './retailer-principal';

const CREDENTIAL_ROUTE = 'impersonation:credential-route';
const ENDS_IMPERSONATION = 'impersonation:ends';

/**
 * A route that changes or mints the retailer's credentials (passwords, second factors, other
 * users' sessions, API keys, invitations, portal and Reactivate tokens): refused to an
 * impersonating admin, even one with full access.
 */
export const CredentialRoute = () => SetMetadata(CREDENTIAL_ROUTE, true);

/** An unsafe route that only ends the caller's own access (logout): allowed to read-only impersonators. */
export const EndsOwnAccess = () => SetMetadata(ENDS_IMPERSONATION, true);

/** The `impersonated_request` audit row of one request (the admin as actor, the retailer as subject). */
function recordImpersonatedRequest(
  audit: AuditService,
  req: HttpRequest,
  principal: RetailerPrincipal,
  outcome: { status: 'success' | 'failure'; httpStatus: number; refused?: 'credentials' | 'read_only' },
): Promise<unknown> {
  const impersonation = principal.impersonation!;
  return audit.record(
    {
      event: 'impersonated_request',
      actorType: 'admin',
      actorId: impersonation.adminId,
      retailerId: principal.retailerId,
      impersonatorId: impersonation.adminId,
      status: outcome.status,
      reason: impersonation.reason,
      metadata: {
        impersonationId: impersonation.id,
        method: req.method,
        route: routePatternOf(req) ?? pathOf(req),
        fullAccess: impersonation.fullAccess,
        httpStatus: outcome.httpStatus,
        ...(outcome.refused ? { refused: outcome.refused } : {}),
      },
    },
    requestContext(req),
  );
}

/**
 * Runs right after RetailerAuthGuard on every retailer route. For an admin acting as the retailer
 * it refuses with 403 FORBIDDEN (and an audit row) what the impersonation may not do: any unsafe
 * method when it is read-only, credential routes always. Requests of the retailer's own users
 * pass untouched.
 */
@Injectable()
export class ImpersonationGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const principal = req.user as RetailerPrincipal | undefined;
    const impersonation = principal?.impersonation;
    if (!impersonation) return true;
    const targets = [context.getHandler(), context.getClass()];
    let refused: 'credentials' | 'read_only' | null = null;
    if (this.reflector.getAllAndOverride<boolean>(CREDENTIAL_ROUTE, targets)) refused = 'credentials';
    else if (UNSAFE_METHODS.has(req.method) && !impersonation.fullAccess && !this.reflector.getAllAndOverride<boolean>(ENDS_IMPERSONATION, targets)) refused = 'read_only';
    if (!refused) return true;
    await recordImpersonatedRequest(this.audit, req, principal!, { status: 'failure', httpStatus: 403, refused });
    if (refused === 'credentials') throw new ApiError(ErrorCode.FORBIDDEN, "An impersonating admin cannot change or create the retailer's credentials.");
    throw new ApiError(ErrorCode.FORBIDDEN, 'This impersonation is read-only.');
  }
}

/**
 * Writes the audit row of every impersonated request the guards let through, with its outcome
 * (the handler's success, or the error it answered), before the response leaves: an
 * acknowledged request always has its row. A ResponseObserver of the global envelope
 * interceptor rather than an interceptor on every retailer route: the retailer's own requests
 * (nearly all of them) then cost one property check here, not a layer of observables.
 */
@Injectable()
export class ImpersonationAudit implements ResponseObserver {
  constructor(private readonly audit: AuditService) {}

  observes(context: ExecutionContext): boolean {
    return Boolean((context.switchToHttp().getRequest<HttpRequest>().user as RetailerPrincipal | undefined)?.impersonation);
  }

  record(context: ExecutionContext, outcome: HandlerOutcome): Promise<unknown> {
    const req = context.switchToHttp().getRequest<HttpRequest>();
    const principal = req.user as RetailerPrincipal;
    if (!outcome.ok) return recordImpersonatedRequest(this.audit, req, principal, { status: 'failure', httpStatus: toApiError(outcome.error).error.status });
    // The status Nest will answer with (@HttpCode, else 201 for POST): not yet on the response here.
    const declared = Reflect.getMetadata('__httpCode__', context.getHandler()) as number | undefined;
    return recordImpersonatedRequest(this.audit, req, principal, { status: 'success', httpStatus: declared ?? (req.method === 'POST' ? 201 : 200) });
  }
}
