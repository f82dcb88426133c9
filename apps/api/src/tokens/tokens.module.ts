import { Global, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AuthContext } from './auth-context';
import { TokenService } from './token.service';

@Global()
@Module({
  imports: [JwtModule.register({})],
  providers: [TokenService, AuthContext],
  exports: [TokenService, AuthContext, JwtModule],
})
export class TokensModule {}
