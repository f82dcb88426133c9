import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';

/** Where one connection's serialised MSAL cache lives (sealed by the implementation). */
export interface MsalCacheStore {
  /** The serialised cache, or null before the first link. */
  load(): Promise<string | null>;
  save(serialized: string): Promise<void>;
}

/**
 * MSAL's persistence hook for exactly one mailbox connection: before MSAL reads its cache the
 * connection's (sealed) copy is opened and loaded; after an access that changed it (a code
 * redeemed, a token refreshed) the new cache is serialised and stored sealed again. MSAL keeps
 * the refresh token only in this cache, so this is what makes later silent acquisition work.
 */
export class ConnectionCachePlugin implements ICachePlugin {
  /** The last serialisation written (a link reads it to store the new row). */
  lastSaved: string | null = null;

  constructor(private readonly store: MsalCacheStore) {}

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    const serialized = await this.store.load();
    if (serialized) context.tokenCache.deserialize(serialized);
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!context.cacheHasChanged) return;
    const serialized = context.tokenCache.serialize();
    this.lastSaved = serialized;
    await this.store.save(serialized);
  }
}

/** A store in memory: the link's, whose connection row does not exist until the code is redeemed. */
export class MemoryCacheStore implements MsalCacheStore {
  constructor(private value: string | null = null) {}

  load(): Promise<string | null> {
    return Promise.resolve(this.value);
  }

  save(serialized: string): Promise<void> {
    this.value = serialized;
    return Promise.resolve();
  }
}
