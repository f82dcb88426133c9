import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { RetailerAuthService } from './retailer-auth.service';
import { RetailerJwtStrategy } from './retailer-jwt.strategy';
import { RetailerController } from './retailer.controller';
import { SessionCookies } from './session-cookies';

@Module({
  imports: [PassportModule],
  controllers: [RetailerController],
  providers: [RetailerAuthService, RetailerJwtStrategy, SessionCookies],
  exports: [RetailerAuthService, SessionCookies],
})
export class RetailerModule {}
