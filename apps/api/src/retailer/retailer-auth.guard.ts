import { Injectable } from '@nestjs/common';
import { JwtAuthGuardFor } from '../tokens/jwt-auth.guard';

/** Retailer access tokens from the retailer cookie or `Authorization: Bearer`. */
@Injectable()
export class RetailerAuthGuard extends JwtAuthGuardFor('retailer-jwt') {}
