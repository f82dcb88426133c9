import { Inject, Injectable } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { RoleChangesService } from '../roles/role-changes.service';
import { RevocationService } from '../sessions/revocation.service';
import { TokenService } from './token.service';
import { VerifiedTokenCache } from './verified-tokens';

declare module 'fastify' {
  interface FastifyRequest {
    authContext?: AuthContext;
  }
}

/**
 * What a passport strategy needs from its own instance of the service (keys, config,
 * revocations, recent role changes, the database), carried on the request. Passport keeps one global registry of strategies per
 * process, so with two instances in one process (the end-to-end tests) the strategy object
 * that runs may belong to the other instance; reading these from the request keeps each
 * instance's checks its own. In production (one instance per process) it changes nothing.
 */
@Injectable()
export class AuthContext {
  /** Tokens this instance's strategies verified already (see VerifiedTokenCache). */
  readonly verifiedTokens = new VerifiedTokenCache();

  constructor(
    readonly tokens: TokenService,
    readonly revocation: RevocationService,
    @Inject(APP_CONFIG) readonly config: AppConfig,
    readonly roleChanges: RoleChangesService,
    @InjectDataSource() readonly dataSource: DataSource,
  ) {}

  /** Puts this instance's context on every request it serves, before any guard runs. */
  register(fastify: FastifyInstance): void {
    fastify.decorateRequest('authContext', undefined);
    fastify.addHook('onRequest', (req, _reply, done) => {
      req.authContext = this;
      done();
    });
  }
}
