import { Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { TaskEventFilter, TaskEventRecord, TaskEventRepository } from './task-event.repository';

/** Rows read per query; a full page means more are waiting, so the next read follows at once. */
const PAGE = 1000;
/**
 * An id the sequence handed out but that is not visible yet belongs to a transaction still
 * running (or rolled back). It is looked for again until it shows up or this long has passed.
 */
const MISSING_ID_PATIENCE_MS = 10_000;
/** At most this many missing ids are tracked; a larger gap is a rollback of a huge batch, not in-flight work. */
const MAX_MISSING_IDS = 10_000;
/** After a failed read (database down) the next one waits this long, so the log is not flooded. */
const RETRY_AFTER_FAILURE_MS = 1000;

export interface FeedSubscription {
  unsubscribe(): void;
}

interface Subscriber {
  filter: TaskEventFilter;
  deliver(event: TaskEventRecord): void;
}

/**
 * The live side of task events in this process: one reader polls `task_events` by id while
 * at least one SSE client listens, and fans each new row out in memory to the subscribers
 * whose filter it matches — one query per tick however many clients there are.
 *
 * Polling rather than LISTEN/NOTIFY: a NOTIFY in the tasks trigger serialises every
 * committing transaction on a global lock (update throughput fell to about a third when
 * measured). Ids come from a sequence at INSERT time while transactions commit in their own
 * order, so an id can become visible after a higher one; such gaps are re-read until they
 * fill or time out, and `safeId()` tells resumable streams which id everything up to has
 * been seen.
 */
@Injectable()
export class TaskEventFeedService implements OnApplicationShutdown {
  private readonly logger = new Logger(TaskEventFeedService.name);
  private readonly intervalMs: number;
  private readonly byTask = new Map<string, Set<Subscriber>>();
  private readonly byKb = new Map<string, Set<Subscriber>>();
  private readonly unscoped = new Set<Subscriber>();
  private subscribers = 0;
  /** Highest id read; undefined while the feed is stopped. */
  private cursor?: bigint;
  /** Ids below the cursor not seen yet, with when they were first missed. */
  private readonly missing = new Map<bigint, number>();
  private timer?: NodeJS.Timeout;
  private starting?: Promise<void>;

  constructor(
    private readonly events: TaskEventRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    this.intervalMs = config.getOrThrow('events.pollIntervalMs', { infer: true });
  }

  /** Starts reading (if not yet) and resolves once the feed has its starting point, so nothing after now is missed. */
  async subscribe(filter: TaskEventFilter, deliver: (event: TaskEventRecord) => void): Promise<FeedSubscription> {
    const subscriber: Subscriber = { filter, deliver };
    const bucket = filter.taskId
      ? group(this.byTask, filter.taskId)
      : filter.kbId
        ? group(this.byKb, filter.kbId)
        : this.unscoped;
    bucket.add(subscriber);
    this.subscribers++;
    try {
      await this.start();
    } catch (error) {
      this.remove(bucket, subscriber, filter);
      throw error;
    }
    return {
      unsubscribe: () => {
        this.remove(bucket, subscriber, filter);
      },
    };
  }

  /**
   * Every event with an id up to this one has been delivered (or was rolled back): a stream
   * that resumes from here misses nothing. Below the newest id only while a gap is open.
   */
  safeId(): bigint {
    let lowest = this.cursor ?? 0n;
    for (const id of this.missing.keys()) if (id - 1n < lowest) lowest = id - 1n;
    return lowest;
  }

  onApplicationShutdown(): void {
    this.stop();
  }

  private start(): Promise<void> {
    if (this.cursor !== undefined) return Promise.resolve();
    this.starting ??= this.init().finally(() => (this.starting = undefined));
    return this.starting;
  }

  /**
   * Starts at the newest event. Ids just below it that are not visible may belong to
   * transactions still committing, so they are watched like any other gap.
   */
  private async init(): Promise<void> {
    const newest = await this.events.newestIds(PAGE);
    const cursor = newest.at(-1) ?? 0n;
    const seen = new Set(newest);
    const now = Date.now();
    for (let id = newest[0] ?? cursor; id < cursor; id++) if (!seen.has(id)) this.missing.set(id, now);
    this.cursor = cursor;
    this.schedule();
  }

  private stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.cursor = undefined;
    this.missing.clear();
  }

  private schedule(delay = this.intervalMs): void {
    this.timer = setTimeout(() => void this.tick(), delay);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    if (this.subscribers === 0) {
      this.stop();
      return;
    }
    let next = this.intervalMs;
    try {
      if (await this.read()) next = 0;
    } catch (error) {
      this.logger.warn(`Reading task events failed: ${(error as Error).message}`);
      next = Math.max(this.intervalMs, RETRY_AFTER_FAILURE_MS);
    }
    if (this.cursor !== undefined) this.schedule(next);
  }

  private async read(): Promise<boolean> {
    const now = Date.now();
    for (const [id, since] of this.missing) if (now - since > MISSING_ID_PATIENCE_MS) this.missing.delete(id);
    const rows = await this.events.findNewAndMissing(this.cursor!, [...this.missing.keys()], PAGE);
    if (this.cursor === undefined) return false;
    for (const row of rows) {
      if (row.id <= this.cursor) {
        this.missing.delete(row.id);
      } else {
        if (row.id - this.cursor <= MAX_MISSING_IDS)
          for (let id = this.cursor + 1n; id < row.id; id++) this.missing.set(id, now);
        this.cursor = row.id;
      }
      this.fanOut(row);
    }
    return rows.length === PAGE;
  }

  private fanOut(event: TaskEventRecord): void {
    const targets = [...(this.byTask.get(event.taskId) ?? []), ...(this.byKb.get(event.kbId) ?? []), ...this.unscoped];
    for (const subscriber of targets) {
      if (subscriber.filter.taskType && subscriber.filter.taskType !== event.taskType) continue;
      if (subscriber.filter.kbIds && !subscriber.filter.kbIds.includes(event.kbId)) continue;
      try {
        subscriber.deliver(event);
      } catch (error) {
        this.logger.warn(`An event subscriber failed: ${(error as Error).message}`);
      }
    }
  }

  private remove(bucket: Set<Subscriber>, subscriber: Subscriber, filter: TaskEventFilter): void {
    if (!bucket.delete(subscriber)) return;
    this.subscribers--;
    if (bucket.size > 0) return;
    if (filter.taskId && this.byTask.get(filter.taskId) === bucket) this.byTask.delete(filter.taskId);
    else if (filter.kbId && this.byKb.get(filter.kbId) === bucket) this.byKb.delete(filter.kbId);
  }
}

function group<K>(map: Map<K, Set<Subscriber>>, key: K): Set<Subscriber> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  return set;
}
