import type { TaskQueueService } from '../queues/task-queue.service';
import type { WorkerDirectoryService } from '../queues/worker-directory.service';
import type { TaskQueryRepository } from '../task-engine/task-query.repository';
import type { TaskRecord } from '../task-types/task-record';
import { TaskPriority, TaskStatus, TaskType } from '../task-types/task-types';
import { TaskPresenterService } from './task-presenter.service';

/** A query the test answers by hand, counting how often it was asked. */
function pendingQuery<T>() {
  const answers: ((value: T) => void)[] = [];
  let calls = 0;
  return {
    run: () => {
      calls++;
      return new Promise<T>((resolve) => answers.push(resolve));
    },
    answer: (value: T) => {
      answers.splice(0).forEach((resolve) => {
        resolve(value);
      });
    },
    calls: () => calls,
  };
}

const queued = (id: string): TaskRecord => ({
  id,
  taskType: TaskType.health_check,
  kbId: 'kb_1',
  priority: TaskPriority.normal,
  status: TaskStatus.queued,
  payload: {},
  result: null,
  progress: 0,
  progressMessage: null,
  retryCount: 0,
  maxRetries: 3,
  attempt: 0,
  timeoutSeconds: 300,
  scheduleFor: null,
  errorMessage: null,
  workerId: null,
  parentId: null,
  createdAt: new Date(),
  updatedAt: new Date(),
  startedAt: null,
  completedAt: null,
  callbackUrl: null,
  callbackSecret: null,
  documentId: null,
});

describe('TaskPresenterService estimates cache', () => {
  let averages: ReturnType<typeof pendingQuery<number | null>>;
  let presenter: TaskPresenterService;
  let now = 1_000_000;

  beforeEach(() => {
    averages = pendingQuery<number | null>();
    jest.spyOn(Date, 'now').mockImplementation(() => now);
    const repository = {
      recentAverageRunSeconds: averages.run,
      queuePositions: async () => new Map(),
    } as unknown as TaskQueryRepository;
    const workers = {
      liveWorkers: async () => [{ status: 'idle', concurrency: 10 }],
    } as unknown as WorkerDirectoryService;
    const queue = {
      queuePositions: async (tasks: TaskRecord[]) => new Map(tasks.map((t, i) => [t.id, i + 1])),
    } as unknown as TaskQueueService;
    presenter = new TaskPresenterService(repository, workers, queue);
  });

  afterEach(() => jest.restoreAllMocks());

  it('shares the first load among concurrent requests', async () => {
    const responses = Promise.all([
      presenter.present(queued('a')),
      presenter.present(queued('b')),
      presenter.present(queued('c')),
    ]);
    await new Promise(setImmediate);
    expect(averages.calls()).toBe(1);
    averages.answer(5);
    const [a] = await responses;
    expect(a.estimated_completion).not.toBeNull();
  });

  it('answers from the stale value while one background load refreshes it', async () => {
    const first = presenter.present(queued('a'));
    await new Promise(setImmediate);
    averages.answer(5);
    await first;
    expect(averages.calls()).toBe(1);

    now += 10_000; // past the two-second freshness
    // Both answer at once with the stale figure although the refresh has not returned.
    const stale = await Promise.all([presenter.present(queued('a')), presenter.present(queued('b'))]);
    expect(stale.every((r) => r.estimated_completion !== null)).toBe(true);
    expect(averages.calls()).toBe(2);

    averages.answer(50);
    await new Promise(setImmediate);
    // Fresh again: no further load.
    await presenter.present(queued('a'));
    expect(averages.calls()).toBe(2);
  });
});
