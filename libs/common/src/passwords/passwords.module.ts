import { Global, Module } from '@nestjs/common';
import { PasswordHasher } from './password-hasher.service';

/** PasswordHasher for every module; needs APP_CONFIG (AppConfigModule). */
@Global()
@Module({ providers: [PasswordHasher], exports: [PasswordHasher] })
export class PasswordsModule {}
