import Redis from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export function redisClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 2, connectTimeout: 5000, lazyConnect: false });
}

/**
 * Deletes every key under `prefix:` — the bench's own queues, worker registry and locks —
 * with SCAN + UNLINK, so it never blocks the shared Redis the way KEYS or FLUSHDB would.
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}

/** The pid of the Redis server (to read its CPU time), when it runs on this machine. */
export async function redisPid(redis: Redis): Promise<number | null> {
  const info = await redis.info('server');
  const pid = /^process_id:(\d+)/m.exec(info)?.[1];
  return pid ? Number(pid) : null;
}
