import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { PortalJwtStrategy } from './portal-jwt.strategy';
import { PortalController } from './portal.controller';
import { PortalService } from './portal.service';

/**
 * The merchant portal's SSO: a signed-in dashboard user gets a single-use handoff code, the
 * portal trades it for a portal token (`aud: portal`, its own key and cookie) checked by
 * PortalJwtStrategy / PortalAuthGuard. The token's `sid` is the dashboard session, so every
 * revocation of that session reaches the portal token too.
 */
@Module({
  imports: [PassportModule],
  controllers: [PortalController],
  providers: [PortalService, PortalJwtStrategy],
})
export class PortalModule {}
