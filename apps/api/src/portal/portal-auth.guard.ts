import { Injectable } from '@nestjs/common';
import { JwtAuthGuardFor } from '../tokens/jwt-auth.guard';

/** Portal tokens from the portal cookie or `Authorization: Bearer`; any other token type is TOKEN_INVALID. */
@Injectable()
export class PortalAuthGuard extends JwtAuthGuardFor('portal-jwt') {}
