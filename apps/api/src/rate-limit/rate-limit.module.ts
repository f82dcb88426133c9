import { Global, Module } from '@nestjs/common';
import { RateLimitService } from './rate-limit.service';

/** Lockout and rate limits, shared by every instance (Redis, or Postgres without Redis). */
@Global()
@Module({ providers: [RateLimitService], exports: [RateLimitService] })
export class RateLimitModule {}
