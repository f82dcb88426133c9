import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/common/config';
import { ApiError, ErrorCode, ErrorDetail } from '@app/common/errors';
import type { RequestContext } from '@app/common/http';
import { APP_LOGGER, AppLogger } from '@app/common/logging';
import { ApiKey, ApiKeyType } from '@app/database';
import { AuditService } from '../audit/audit.service';
import type { RetailerPrincipal } from '../retailer/retailer-principal';
import { generateApiKey, parseApiKey, secretMatches } from './api-key-format';
import { ApiKeyCache, CachedApiKey } from './api-key-cache';
import type { ApiKeyPrincipal } from './api-key-principal';
import { ApiKeyRepository } from './api-key.repository';
import { API_KEY_SCOPES, isScopeOf } from './api-key-scopes';
import { CreateApiKeyDto } from './dto/create-api-key.dto';
import { ipAllowed, normalizeCidr, parseAllowlist } from './ip-allowlist';

const DAY_MS = 86_400_000;
/** lastUsedAt is written at most this often per key. */
const LAST_USED_INTERVAL_MS = 60_000;

export interface AuthenticateOptions {
  /** The key type the route accepts; a key of another type is TOKEN_INVALID (a guard accepts only its own type). */
  type: ApiKeyType;
  scope?: string;
  ip: string;
}

/** A key as listings show it: never the secret, nor its hash. */
export function publicApiKey(k: ApiKey) {
  return {
    id: k.id,
    name: k.name,
    type: k.type,
    prefix: k.prefix,
    scopes: k.scopes,
    allowedIps: k.allowedIps,
    expiresAt: k.expiresAt?.toISOString() ?? null,
    lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
    createdAt: k.createdAt.toISOString(),
    /** Set on a key replaced by a rotation: it keeps working until then. */
    graceUntil: k.graceUntil?.toISOString() ?? null,
    replacedById: k.replacedById,
  };
}

/**
 * The ApiKey module's use cases: create, list, rotate and revoke keys (for signed-in retailer
 * users), and authenticate a presented key (for ApiKeyAuthGuard) without a Postgres round trip
 * when the key was seen recently.
 */
@Injectable()
export class ApiKeyService implements OnModuleDestroy {
  /** keyId → when this instance last wrote its lastUsedAt. */
  private readonly lastTouched = new Map<string, number>();
  private readonly pendingWrites = new Set<Promise<unknown>>();

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
    private readonly keys: ApiKeyRepository,
    private readonly cache: ApiKeyCache,
    private readonly audit: AuditService,
  ) {}

  async create(principal: RetailerPrincipal, dto: CreateApiKeyDto, ctx: RequestContext) {
    assertMayManage(principal, 'api_keys:write');
    const { scopes, allowedIps } = validateKeySettings(dto);
    const expiresInDays = dto.expiresInDays ?? this.config.auth.apiKeyDefaultExpiryDays;
    const generated = generateApiKey(dto.type);
    const key = await this.dataSource.transaction(async (manager) => {
      const key = await this.keys.insert(manager, {
        retailerId: principal.retailerId,
        name: dto.name,
        type: dto.type,
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        scopes,
        allowedIps,
        expiresAt: new Date(Date.now() + expiresInDays * DAY_MS),
        createdByUserId: principal.userId,
      });
      await this.audit.record(
        {
          event: 'api_key_created',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { keyId: key.id, prefix: key.prefix, type: key.type, scopes },
        },
        ctx,
        manager,
      );
      return key;
    });
    // The only time the whole key leaves the service.
    return { ...publicApiKey(key), key: generated.key };
  }

  async list(principal: RetailerPrincipal) {
    assertMayManage(principal, 'api_keys:read');
    return (await this.keys.listLive(principal.retailerId)).map(publicApiKey);
  }

  /**
   * A new key with the same name, type, scopes, allowlist and lifetime; the old one keeps
   * working for API_KEY_ROTATION_GRACE, then is refused as TOKEN_REVOKED.
   */
  async rotate(principal: RetailerPrincipal, id: string, ctx: RequestContext) {
    assertMayManage(principal, 'api_keys:write');
    const graceUntil = new Date(Date.now() + this.config.auth.apiKeyRotationGraceMs);
    const { old, next, generated } = await this.dataSource.transaction(async (manager) => {
      const old = await this.keys.findLiveOwnedForUpdate(manager, principal.retailerId, id);
      if (!old) throw new ApiError(ErrorCode.NOT_FOUND, 'No such API key.');
      if (old.replacedById) throw new ApiError(ErrorCode.CONFLICT, 'This key was already rotated; rotate its replacement instead.');
      const lifetimeMs = old.expiresAt ? old.expiresAt.getTime() - old.createdAt.getTime() : this.config.auth.apiKeyDefaultExpiryDays * DAY_MS;
      const generated = generateApiKey(old.type);
      const next = await this.keys.insert(manager, {
        retailerId: old.retailerId,
        name: old.name,
        type: old.type,
        prefix: generated.prefix,
        keyHash: generated.keyHash,
        scopes: old.scopes,
        allowedIps: old.allowedIps,
        expiresAt: new Date(Date.now() + Math.max(lifetimeMs, DAY_MS)),
        createdByUserId: principal.userId,
      });
      await this.keys.markRotated(manager, old.id, next.id, graceUntil);
      await this.audit.record(
        {
          event: 'api_key_rotated',
          actorType: 'user',
          actorId: principal.userId,
          retailerId: principal.retailerId,
          status: 'success',
          metadata: { keyId: old.id, prefix: old.prefix, newKeyId: next.id, newPrefix: next.prefix, graceUntil: graceUntil.toISOString() },
        },
        ctx,
        manager,
      );
      return { old, next, generated };
    });
    // Instances holding the old key in cache must learn its grace deadline.
    await this.cache.publish({ prefixes: [old.prefix] });
    return { ...publicApiKey(next), key: generated.key, replaces: { id: old.id, prefix: old.prefix, graceUntil: graceUntil.toISOString() } };
  }

  /** Refused at once on every instance; a predecessor still in its rotation grace goes with it. */
  async revoke(principal: RetailerPrincipal, id: string, ctx: RequestContext): Promise<void> {
    assertMayManage(principal, 'api_keys:write');
    const prefixes = await this.dataSource.transaction(async (manager) => {
      const key = await this.keys.findLiveOwnedForUpdate(manager, principal.retailerId, id);
      if (!key) throw new ApiError(ErrorCode.NOT_FOUND, 'No such API key.');
      const prefixes = await this.keys.revokeWithPredecessor(manager, key.id);
      await this.audit.record(
        { event: 'api_key_revoked', actorType: 'user', actorId: principal.userId, retailerId: principal.retailerId, status: 'success', metadata: { keyId: key.id, prefix: key.prefix } },
        ctx,
        manager,
      );
      return prefixes;
    });
    await this.cache.publish({ prefixes });
  }

  /**
   * For whoever changes a retailer's standing (suspension, unsuspension, its IP allowlist): the
   * cached view of its keys is dropped on every instance, so the change applies at once.
   */
  invalidateRetailer(retailerId: string): Promise<void> {
    return this.cache.publish({ retailerIds: [retailerId] });
  }

  /**
   * Judges a presented key. Order: missing → TOKEN_MISSING; malformed, bad checksum, other type,
   * unknown prefix or wrong secret → TOKEN_INVALID; revoked, rotated out or retailer suspended →
   * TOKEN_REVOKED; expired → TOKEN_EXPIRED; address outside an allowlist → IP_NOT_ALLOWED;
   * missing scope → FORBIDDEN.
   */
  async authenticate(raw: string | undefined, options: AuthenticateOptions): Promise<ApiKeyPrincipal> {
    if (!raw) throw new ApiError(ErrorCode.TOKEN_MISSING);
    const parsed = parseApiKey(raw);
    if (!parsed || parsed.type !== options.type) throw new ApiError(ErrorCode.TOKEN_INVALID);
    const key = await this.lookup(parsed.prefix);
    if (!key || !secretMatches(parsed.secret, key.keyHash)) throw new ApiError(ErrorCode.TOKEN_INVALID);
    const now = Date.now();
    if (key.revoked || !key.retailerActive || (key.graceUntilMs !== null && key.graceUntilMs <= now)) throw new ApiError(ErrorCode.TOKEN_REVOKED);
    if (key.expiresAtMs !== null && key.expiresAtMs <= now) throw new ApiError(ErrorCode.TOKEN_EXPIRED);
    if (key.allowedIps.length && !ipAllowed(options.ip, key.allowedIps)) throw new ApiError(ErrorCode.IP_NOT_ALLOWED);
    if (key.retailerAllowedIps && !ipAllowed(options.ip, key.retailerAllowedIps)) throw new ApiError(ErrorCode.IP_NOT_ALLOWED);
    if (options.scope && !key.scopes.includes(options.scope)) throw new ApiError(ErrorCode.FORBIDDEN, `This key lacks the scope ${options.scope}.`);
    this.touch(key.id, now);
    return { kind: 'api-key', retailerId: key.retailerId, keyId: key.id, type: key.type, scopes: [...key.scopes] };
  }

  async onModuleDestroy(): Promise<void> {
    // Let lastUsedAt writes in flight finish before the data source closes.
    await Promise.allSettled([...this.pendingWrites]);
  }

  /** The cache, else Postgres (and the cache is filled for the next 30 s). */
  private async lookup(prefix: string): Promise<CachedApiKey | null> {
    const cached = this.cache.get(prefix);
    if (cached) return cached;
    const epoch = this.cache.epoch;
    const row = await this.keys.findForAuthByPrefix(prefix);
    if (!row) return null;
    const retailer = row.retailer;
    const key: CachedApiKey = {
      id: row.id,
      retailerId: row.retailerId,
      type: row.type,
      keyHash: row.keyHash,
      scopes: row.scopes,
      allowedIps: parseAllowlist(row.allowedIps),
      expiresAtMs: row.expiresAt?.getTime() ?? null,
      revoked: row.revokedAt !== null,
      graceUntilMs: row.graceUntil?.getTime() ?? null,
      retailerActive: retailer?.status === 'active',
      retailerAllowedIps: retailer?.ipAllowlistEnabled ? parseAllowlist(retailer.ipAllowlist) : null,
    };
    this.cache.set(prefix, key, epoch);
    return key;
  }

  /** Records the use off the request's critical path, at most once a minute per key. */
  private touch(keyId: string, now: number): void {
    if (now - (this.lastTouched.get(keyId) ?? 0) < LAST_USED_INTERVAL_MS) return;
    this.lastTouched.set(keyId, now);
    if (this.lastTouched.size > 10_000) {
      for (const [id, at] of this.lastTouched) if (now - at >= LAST_USED_INTERVAL_MS) this.lastTouched.delete(id);
    }
    const write: Promise<unknown> = this.keys
      .touchLastUsed(keyId)
      .catch((err) => this.logger.warn({ err: (err as Error).message, keyId }, 'could not record API key use'))
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }
}

/**
 * Key management needs the permission in the user's token; an impersonating admin is never
 * allowed to change a retailer's keys (contract, Admin), whatever its access level.
 */
function assertMayManage(principal: RetailerPrincipal, permission: 'api_keys:read' | 'api_keys:write'): void {
  const impersonating = principal.kind !== 'retailer' || 'impersonatedBy' in principal;
  if (permission === 'api_keys:write' && impersonating) throw new ApiError(ErrorCode.FORBIDDEN, 'API keys cannot be changed while impersonating.');
  if (!principal.permissions.includes(permission)) throw new ApiError(ErrorCode.FORBIDDEN, `This needs the ${permission} permission.`);
}

/** Scopes must belong to the key's type; every allowlist entry must be an IPv4/IPv6 address or CIDR. */
function validateKeySettings(dto: CreateApiKeyDto): { scopes: string[]; allowedIps: string[] } {
  const details: ErrorDetail[] = [];
  const scopes = [...new Set(dto.scopes)];
  const foreign = scopes.filter((s) => !isScopeOf(dto.type, s));
  if (foreign.length) {
    details.push({ field: 'scopes', message: `${foreign.join(', ')} not allowed for a ${dto.type} key (allowed: ${API_KEY_SCOPES[dto.type].join(', ')})` });
  }
  const allowedIps: string[] = [];
  (dto.allowedIps ?? []).forEach((entry, i) => {
    const normalized = normalizeCidr(entry);
    if (normalized) allowedIps.push(normalized);
    else details.push({ field: `allowedIps[${i}]`, message: `"${entry.slice(0, 64)}" is not an IPv4/IPv6 address or CIDR` });
  });
  if (details.length) throw ApiError.validation(details);
  return { scopes, allowedIps: [...new Set(allowedIps)] };
}
