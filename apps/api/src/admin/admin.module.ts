import { Module } from '@nestjs/common';
import { PassportModule } from '@nestjs/passport';
import { ApiKeyModule } from '../api-key/api-key.module';
import { AdminAuthController } from './admin-auth.controller';
import { AdminAuthService } from './admin-auth.service';
import { AdminJwtStrategy } from './admin-jwt.strategy';
import { AdminController } from './admin.controller';
import { AdminService } from './admin.service';

/** The admin console: admins, magic-link sign-in, retailer search, suspension, impersonation. */
@Module({
  imports: [PassportModule, ApiKeyModule],
  controllers: [AdminAuthController, AdminController],
  providers: [AdminJwtStrategy, AdminAuthService, AdminService],
})
export class AdminModule {}
