import { Injectable } from '@nestjs/common';
import { JwtAuthGuardFor } from '../tokens/jwt-auth.guard';

/** Reactivate tokens from `Authorization: Bearer` only; any other token type is TOKEN_INVALID. */
@Injectable()
export class ReactivateAuthGuard extends JwtAuthGuardFor('reactivate-jwt') {}
