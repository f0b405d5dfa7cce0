import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import type { TaskTypeCaps } from '../config/concurrency-caps';
import type { TaskType } from '../task-types/task-types';
import type { RedisClient } from './redis-connection';
import { REDIS_CLIENT } from './redis.provider';

/** The task a slot is for; `kbId` is absent only for a job queued before jobs carried it (no kb cap then). */
export interface CapSlot {
  taskId: string;
  kbId?: string;
  taskType: TaskType;
}

export interface AcquireOptions {
  /**
   * Hold the slot this long unless extended (`extend`) — for a lease held on behalf of an
   * external worker. Without it, this process renews the slot until `release`, and a crash
   * lets it lapse after WORKER_LOCK_DURATION_MS.
   */
  holdForMs?: number;
}

/**
 * One sorted set per capped kb and per capped task type: members are the task ids holding a
 * slot, scores the time (Redis's clock, ms) the slot lapses. Expired members are dropped before
 * counting, so a slot whose holder crashed frees itself. A task already holding the slot may
 * acquire it again (a redelivered job). All-or-nothing over the sets that apply.
 * KEYS the cap sets; ARGV[1] task id, ARGV[2] hold ms, ARGV[3..] each set's cap.
 */
const ACQUIRE_LUA = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local id = ARGV[1]
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if not redis.call('ZSCORE', key, id) and redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    return 0
  end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + tonumber(ARGV[2]), id)
end
return 1
`;

/** Pushes a held slot's lapse time forward, only where the task still holds it. KEYS, ARGV[1], ARGV[2] as above. */
const EXTEND_LUA = `
local time = redis.call('TIME')
local lapse = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000) + tonumber(ARGV[2])
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', lapse, ARGV[1])
end
return 1
`;

type CapCommand = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<number>;

/**
 * Optional caps on the tasks running at once per kb (KB_MAX_CONCURRENCY) and per task type
 * (TASK_TYPE_MAX_CONCURRENCY), honoured across every worker process because the count lives
 * in Redis. A worker takes a slot before it claims the task in PostgreSQL and gives it back on
 * every end path; the external-worker lease path is meant to do the same.
 * With no cap configured every call answers at once without touching Redis.
 */
@Injectable()
export class ConcurrencyCapsService implements OnApplicationShutdown {
  private readonly logger = new Logger(ConcurrencyCapsService.name);
  private readonly kbCap: number;
  private readonly typeCaps: TaskTypeCaps;
  private readonly prefix: string;
  private readonly lapseMs: number;
  private readonly acquireCommand: CapCommand;
  private readonly extendCommand: CapCommand;
  /** Slots this process renews until released: task id → the slot. */
  private readonly renewed = new Map<string, CapSlot>();
  private renewal: NodeJS.Timeout | undefined;

  constructor(
    config: ConfigService<AllConfig, true>,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient,
  ) {
    const queue = config.getOrThrow('queue', { infer: true });
    this.kbCap = queue.kbMaxConcurrency;
    this.typeCaps = queue.taskTypeMaxConcurrency;
    this.prefix = queue.prefix;
    this.lapseMs = queue.lockDurationMs;
    redis.defineCommand('taskManagerCapAcquire', { lua: ACQUIRE_LUA });
    redis.defineCommand('taskManagerCapExtend', { lua: EXTEND_LUA });
    const commands = redis as unknown as Record<string, CapCommand>;
    this.acquireCommand = commands.taskManagerCapAcquire.bind(redis);
    this.extendCommand = commands.taskManagerCapExtend.bind(redis);
  }

  /** Whether any cap is configured at all. */
  get enabled(): boolean {
    return this.kbCap > 0 || Object.keys(this.typeCaps).length > 0;
  }

  /** Takes a slot under every cap that applies to the task, or none (false) when one is full. */
  async tryAcquire(slot: CapSlot, options: AcquireOptions = {}): Promise<boolean> {
    const caps = this.capsOf(slot);
    if (caps.length === 0) return true;
    const holdMs = options.holdForMs ?? this.lapseMs;
    const acquired =
      (await this.acquireCommand(
        caps.length,
        ...caps.map((cap) => cap.key),
        slot.taskId,
        holdMs,
        ...caps.map((cap) => cap.limit),
      )) === 1;
    if (acquired && options.holdForMs === undefined) this.renew(slot);
    return acquired;
  }

  /** Keeps a slot taken with `holdForMs` for another `holdForMs` (a lease's heartbeat). */
  async extend(slot: CapSlot, holdForMs: number): Promise<void> {
    const caps = this.capsOf(slot);
    if (caps.length > 0) await this.extendCommand(caps.length, ...caps.map((cap) => cap.key), slot.taskId, holdForMs);
  }

  /**
   * Gives the slot back. Never throws: a slot that cannot be removed now (Redis unreachable)
   * lapses on its own, since this process stops renewing it.
   */
  async release(slot: CapSlot): Promise<void> {
    this.renewed.delete(slot.taskId);
    if (this.renewed.size === 0) this.stopRenewal();
    const caps = this.capsOf(slot);
    if (caps.length === 0) return;
    try {
      await Promise.all(caps.map((cap) => this.redis.zrem(cap.key, slot.taskId)));
    } catch (error) {
      this.logger.warn(`Slot of task ${slot.taskId} not released (${errorMessage(error)}); it lapses on its own`);
    }
  }

  onApplicationShutdown(): void {
    this.stopRenewal();
  }

  /** The cap sets that apply to a task, each under the queue prefix (one hash slot in cluster mode). */
  private capsOf(slot: CapSlot): { key: string; limit: number }[] {
    const caps: { key: string; limit: number }[] = [];
    if (this.kbCap > 0 && slot.kbId !== undefined)
      caps.push({ key: `${this.prefix}:cap:kb:${slot.kbId}`, limit: this.kbCap });
    const typeCap = this.typeCaps[slot.taskType];
    if (typeCap !== undefined) caps.push({ key: `${this.prefix}:cap:type:${slot.taskType}`, limit: typeCap });
    return caps;
  }

  /** Renews every slot this process holds a third of the way into its lapse time. */
  private renew(slot: CapSlot): void {
    this.renewed.set(slot.taskId, slot);
    this.renewal ??= setInterval(() => {
      for (const held of this.renewed.values()) {
        this.extend(held, this.lapseMs).catch((error: unknown) => {
          this.logger.warn(`Slot of task ${held.taskId} not renewed: ${errorMessage(error)}`);
        });
      }
    }, this.lapseMs / 3).unref();
  }

  private stopRenewal(): void {
    clearInterval(this.renewal);
    this.renewal = undefined;
  }
}
