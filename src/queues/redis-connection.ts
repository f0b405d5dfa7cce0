import Redis, { Cluster, type RedisOptions } from 'ioredis';
import type { QueueConfig } from '../config/app.config';

/**
 * ioredis options from a redis:// or rediss:// URL. Producers (the API) fail fast while
 * Redis is down, so a create is stored in PostgreSQL and answered instead of hanging;
 * workers wait for Redis forever, as BullMQ requires of blocking connections.
 */
export function redisOptionsFromUrl(url: string, role: 'producer' | 'worker'): RedisOptions {
  const parsed = new URL(url);
  const db = parsed.pathname.length > 1 ? Number(parsed.pathname.slice(1)) : 0;
  return {
    host: parsed.hostname,
    port: parsed.port ? Number(parsed.port) : 6379,
    username: parsed.username ? decodeURIComponent(parsed.username) : undefined,
    password: parsed.password ? decodeURIComponent(parsed.password) : undefined,
    db: Number.isFinite(db) ? db : 0,
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
    // Reconnect quickly but without hammering a Redis that is down.
    retryStrategy: (times) => Math.min(times * 200, 2000),
    ...(role === 'producer'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2000 }
      : { maxRetriesPerRequest: null }),
  };
}

/** A single Redis or a Redis Cluster client, as configured (REDIS_CLUSTER_NODES selects cluster mode). */
export type RedisClient = Redis | Cluster;

/**
 * A client for the configured Redis: a plain connection to REDIS_URL, or an ioredis Cluster
 * over REDIS_CLUSTER_NODES with the same per-role options for every node (credentials and
 * TLS still come from REDIS_URL).
 */
export function createRedisClient(
  queue: QueueConfig,
  role: 'producer' | 'worker',
  extra: RedisOptions = {},
): RedisClient {
  const options = { ...redisOptionsFromUrl(queue.redisUrl, role), ...extra };
  if (queue.clusterNodes.length === 0) return new Redis(options);
  const { host: _host, port: _port, db: _db, retryStrategy, enableOfflineQueue, lazyConnect, ...nodeOptions } = options;
  return new Cluster(queue.clusterNodes, {
    redisOptions: nodeOptions,
    clusterRetryStrategy: retryStrategy,
    enableOfflineQueue,
    lazyConnect,
  });
}
