import { Inject, Injectable, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import Redis from 'ioredis';
import { APP_CONFIG, AppConfig } from '../config';
import { APP_LOGGER, AppLogger } from '../logging';
import { Broadcast, BroadcastHandlers } from './broadcast';

/**
 * The optional Redis connection. Without REDIS_URL the service runs as a single instance and
 * every shared state falls back to Postgres or process memory; callers check `enabled`.
 * Commands fail fast while Redis is down (no offline queue) instead of hanging a request.
 */
@Injectable()
export class RedisService implements OnModuleInit, OnModuleDestroy {
  readonly client: Redis | null;
  private readonly subscribers: Redis[] = [];

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(APP_LOGGER) private readonly logger: AppLogger,
  ) {
    this.client = config.redis.url ? this.connect('redis') : null;
  }

  get enabled(): boolean {
    return this.client !== null;
  }

  /** Channel names live under the deployment's key prefix too (ioredis prefixes keys, not channels). */
  channelName(name: string): string {
    return `${this.config.redis.keyPrefix}${name}`;
  }

  /** A pub/sub channel between instances (see Broadcast). */
  broadcast<T>(name: string, handlers: BroadcastHandlers<T>): Broadcast<T> {
    return new Broadcast<T>(this, this.logger, name, handlers);
  }

  /** A second connection for SUBSCRIBE (a subscribed connection can run no other command). */
  createSubscriber(): Redis {
    if (!this.config.redis.url) throw new Error('Redis is not configured');
    const sub = this.connect('redis-subscriber', true);
    this.subscribers.push(sub);
    return sub;
  }

  /** Gives the first connection a moment, so an instance that starts with Redis up is ready at once. */
  async onModuleInit(): Promise<void> {
    const client = this.client;
    if (!client || client.status === 'ready') return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3000);
      client.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    if (!this.client) return true;
    try {
      const reply = await Promise.race([
        this.client.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('Redis ping timed out')), timeoutMs).unref()),
      ]);
      return reply === 'PONG';
    } catch {
      return false;
    }
  }

  /**
   * A ready command connection quits politely (pending replies arrive first); a subscriber, or a
   * connection that is not ready (Redis away, reconnecting), is dropped at once, so no queued
   * command (e.g. ioredis's own re-subscribe) is left to reject after the instance has closed.
   */
  async onModuleDestroy(): Promise<void> {
    const close = (c: Redis | null, polite: boolean) => {
      if (!c) return Promise.resolve();
      if (!polite || c.status !== 'ready') {
        c.disconnect(false);
        return Promise.resolve();
      }
      return c.quit().then(
        () => undefined,
        () => c.disconnect(false),
      );
    };
    await Promise.all([close(this.client, true), ...this.subscribers.map((c) => close(c, false))]);
  }

  private connect(name: string, subscriber = false): Redis {
    const client = new Redis(this.config.redis.url!, {
      connectionName: name,
      // Every key of the service lives under one prefix, so instances of two deployments (or two
      // test runs) can share a Redis server without seeing each other's state.
      keyPrefix: this.config.redis.keyPrefix,
      lazyConnect: false,
      enableOfflineQueue: subscriber,
      // Broadcast re-subscribes on 'ready' itself, with its promise handled.
      autoResubscribe: !subscriber,
      maxRetriesPerRequest: subscriber ? null : 1,
      connectTimeout: 2000,
      commandTimeout: subscriber ? undefined : 2000,
      retryStrategy: (times) => Math.min(times * 200, 2000),
    });
    let reported = false;
    client.on('error', (err) => {
      if (!reported) this.logger.warn({ err: err.message, connection: name }, 'Redis connection error');
      reported = true;
    });
    client.on('ready', () => {
      if (reported) this.logger.info({ connection: name }, 'Redis connection restored');
      reported = false;
    });
    return client;
  }
}
