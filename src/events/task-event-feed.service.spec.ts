import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { TaskEventFeedService } from './task-event-feed.service';
import type { TaskEventRecord, TaskEventRepository } from './task-event.repository';

/** task_events as readers see it: only committed rows are visible, in any id order. */
class CommittedEvents {
  rows: TaskEventRecord[] = [];
  reads = 0;

  commit(
    id: number,
    kbId = 'kb_a',
    taskId = `task-${id}`,
    taskType: TaskEventRecord['taskType'] = 'health_check',
  ): void {
    this.rows.push({
      id: BigInt(id),
      taskId,
      kbId,
      taskType,
      kind: 'status',
      status: 'queued',
      progress: 0,
      message: null,
      attempt: 0,
      error: null,
      workerId: null,
      webhookPending: false,
      at: new Date(),
    });
  }

  repository(): TaskEventRepository {
    const sorted = () => [...this.rows].sort((a, b) => Number(a.id - b.id));
    return {
      newestIds: async (lookback: number) =>
        sorted()
          .slice(-lookback)
          .map((r) => r.id),
      findNewAndMissing: async (cursor: bigint, missing: bigint[], limit: number) => {
        this.reads++;
        return sorted()
          .filter((r) => r.id > cursor || missing.includes(r.id))
          .slice(0, limit);
      },
    } as unknown as TaskEventRepository;
  }
}

const until = async (condition: () => boolean) => {
  const deadline = Date.now() + 2000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};

describe('TaskEventFeedService', () => {
  let table: CommittedEvents;
  let feed: TaskEventFeedService;

  beforeEach(() => {
    table = new CommittedEvents();
    feed = new TaskEventFeedService(table.repository(), { getOrThrow: () => 10 } as unknown as ConfigService<
      AllConfig,
      true
    >);
  });

  afterEach(() => {
    feed.onApplicationShutdown();
    jest.restoreAllMocks();
  });

  it('delivers an id that commits after a higher one, and holds the safe id below it until then', async () => {
    [1, 2, 3].forEach((id) => {
      table.commit(id);
    });
    const seen: number[] = [];
    await feed.subscribe({ kbId: 'kb_a' }, (event) => seen.push(Number(event.id)));
    expect(feed.safeId()).toBe(3n);

    table.commit(5);
    await until(() => seen.includes(5));
    expect(feed.safeId()).toBe(3n);

    table.commit(4);
    await until(() => seen.includes(4));
    expect(seen).toEqual([5, 4]);
    expect(feed.safeId()).toBe(5n);
  });

  it('watches ids that were still committing when it started', async () => {
    [1, 2, 4].forEach((id) => {
      table.commit(id);
    });
    const seen: number[] = [];
    await feed.subscribe({}, (event) => seen.push(Number(event.id)));
    expect(feed.safeId()).toBe(2n);
    table.commit(3);
    await until(() => seen.includes(3));
    expect(feed.safeId()).toBe(4n);
  });

  it('gives up on an id that never shows (a rolled-back insert) after its patience', async () => {
    table.commit(1);
    const seen: number[] = [];
    await feed.subscribe({}, (event) => seen.push(Number(event.id)));
    table.commit(3);
    await until(() => seen.includes(3));
    expect(feed.safeId()).toBe(1n);

    const now = Date.now();
    jest.spyOn(Date, 'now').mockReturnValue(now + 11_000);
    table.commit(4);
    await until(() => seen.includes(4));
    expect(feed.safeId()).toBe(4n);
  });

  it('fans each event out only to the subscribers whose filter it matches', async () => {
    const got: Record<string, string[]> = { task: [], kb: [], kbIndexing: [], all: [] };
    await feed.subscribe({ taskId: 'task-7' }, (e) => got.task.push(e.taskId));
    await feed.subscribe({ kbId: 'kb_b' }, (e) => got.kb.push(e.taskId));
    await feed.subscribe({ kbId: 'kb_b', taskType: 'knowledge_indexing' }, (e) => got.kbIndexing.push(e.taskId));
    await feed.subscribe({}, (e) => got.all.push(e.taskId));

    table.commit(7, 'kb_a');
    table.commit(8, 'kb_b');
    table.commit(9, 'kb_b', 'task-9', 'knowledge_indexing');
    await until(() => got.all.length === 3);
    expect(got).toEqual({
      task: ['task-7'],
      kb: ['task-8', 'task-9'],
      kbIndexing: ['task-9'],
      all: ['task-7', 'task-8', 'task-9'],
    });
  });

  it('stops reading once the last subscriber has gone', async () => {
    // Fake timers: the poll loop is driven by hand, so "no more reads" is checked over a
    // hundred intervals without waiting for any of them.
    jest.useFakeTimers();
    try {
      const subscription = await feed.subscribe({}, () => undefined);
      await jest.advanceTimersByTimeAsync(10 * 3);
      expect(table.reads).toBeGreaterThanOrEqual(2);
      subscription.unsubscribe();
      await jest.advanceTimersByTimeAsync(10); // the tick already scheduled sees no subscriber and stops
      const reads = table.reads;
      await jest.advanceTimersByTimeAsync(10 * 100);
      expect(table.reads).toBe(reads);
      expect(jest.getTimerCount()).toBe(0);
    } finally {
      jest.useRealTimers();
    }
  });
});
