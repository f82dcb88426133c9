import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { RetailerModule } from '../retailer/retailer.module';
import { BridgeAuthGuard } from './bridge-auth.guard';
import { BridgeJwtStrategy } from './bridge-jwt.strategy';
import { BridgeController } from './bridge.controller';
import { BridgeService } from './bridge.service';

/** Sibling services trade short-lived bridge tokens for sessions: BridgeJwtStrategy, POST /auth/bridge. */
@Module({
  imports: [PassportModule, RetailerModule],
  controllers: [BridgeController],
  providers: [BridgeJwtStrategy, BridgeService, BridgeAuthGuard],
})
export class BridgeModule {}
