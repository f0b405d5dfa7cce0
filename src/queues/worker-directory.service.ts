import { Inject, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type Redis from 'ioredis';
import type { AllConfig } from '../config/app.config';
import { REDIS_CLIENT, redisKeys } from './redis.provider';

/** What a worker process publishes about itself on every heartbeat. */
export interface WorkerSnapshot {
  id: string;
  status: 'busy' | 'idle' | 'stopping';
  current_task_id: string | null;
  current_task_ids: string[];
  concurrency: number;
  tasks_processed: number;
  tasks_succeeded: number;
  tasks_failed: number;
  last_heartbeat: string;
  started_at: string;
  last_task_finished_at: string | null;
  average_task_time: number;
  hostname: string;
  pid: number;
}

/**
 * The live worker processes, read from Redis. Each worker's entry expires unless its
 * heartbeat renews it, so a worker that stops heartbeating disappears on its own.
 */
@Injectable()
export class WorkerDirectoryService {
  private readonly keys: ReturnType<typeof redisKeys>;

  constructor(
    @Inject(REDIS_CLIENT) private readonly redis: Redis,
    config: ConfigService<AllConfig, true>,
  ) {
    this.keys = redisKeys(config.getOrThrow('queue.prefix', { infer: true }));
  }

  async publish(snapshot: WorkerSnapshot, ttlMs: number): Promise<void> {
    await this.redis
      .multi()
      .set(this.keys.worker(snapshot.id), JSON.stringify(snapshot), 'PX', ttlMs)
      .sadd(this.keys.workers, snapshot.id)
      .exec();
  }

  async remove(workerId: string): Promise<void> {
    await this.redis.multi().del(this.keys.worker(workerId)).srem(this.keys.workers, workerId).exec();
  }

  async liveWorkers(): Promise<WorkerSnapshot[]> {
    const ids = await this.redis.smembers(this.keys.workers);
    if (ids.length === 0) return [];
    const values = await this.redis.mget(ids.map((id) => this.keys.worker(id)));
    const expired = ids.filter((_, i) => values[i] === null);
    if (expired.length > 0) await this.redis.srem(this.keys.workers, ...expired);
    return values
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as WorkerSnapshot)
      .sort((a, b) => a.id.localeCompare(b.id));
  }
}
