import type { Worker } from 'bullmq';
import { TASK_TYPES, TaskType } from '../task-types/task-types';
import type { TaskLifecycleService } from './task-lifecycle';
import { TaskProcessor, type TaskProcessorHosts, workerPerType } from './task-processor';

/** A processor whose BullMQ worker listens on `queue`, or that has none (not a @Processor, or not built yet). */
class FakeProcessor extends TaskProcessor<TaskType> {
  protected readonly lifecycle = {} as TaskLifecycleService;

  constructor(
    readonly taskType: TaskType,
    private readonly queue: string | null = taskType,
  ) {
    super();
  }

  override get worker(): Worker {
    if (this.queue === null) throw new Error('"Worker" has not yet been initialized');
    return { name: this.queue } as Worker;
  }

  protected handle(): Promise<unknown> {
    return Promise.resolve(null);
  }
}

function hosts(processors: FakeProcessor[]): TaskProcessorHosts {
  return new Map(processors.map((processor) => [processor.taskType, processor]));
}

describe('workerPerType (the worker boot check)', () => {
  it("gives every task type its processor's worker", () => {
    const workers = workerPerType(hosts(TASK_TYPES.map((type) => new FakeProcessor(type))));
    expect(Object.keys(workers).sort()).toEqual([...TASK_TYPES].sort());
    for (const type of TASK_TYPES) expect(workers[type].name).toBe(type);
  });

  it('refuses to boot when a task type has no processor, naming it', () => {
    const processors = TASK_TYPES.filter((type) => type !== TaskType.vector_storage).map(
      (type) => new FakeProcessor(type),
    );
    expect(() => workerPerType(hosts(processors))).toThrow(
      'No processor registered for task type(s): vector_storage (no processor)',
    );
  });

  it("refuses a processor that listens on another type's queue or has no worker", () => {
    const processors = TASK_TYPES.map((type) =>
      type === TaskType.health_check
        ? new FakeProcessor(type, TaskType.batch_processing)
        : type === TaskType.knowledge_indexing
          ? new FakeProcessor(type, null)
          : new FakeProcessor(type),
    );
    const boot = () => workerPerType(hosts(processors));
    expect(boot).toThrow('health_check (FakeProcessor listens on batch_processing)');
    expect(boot).toThrow('knowledge_indexing (FakeProcessor has no BullMQ worker');
  });
});
