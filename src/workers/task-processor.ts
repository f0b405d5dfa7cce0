import { WorkerHost } from '@nestjs/bullmq';
import type { Job, Worker } from 'bullmq';
import { TASK_TYPES, type TaskJobData, type TaskType } from '../task-types/task-types';
import type { TaskContext, TaskLifecycleService } from './task-lifecycle';

/**
 * The BullMQ processor of one task type, whose queue is named after the type. The lifecycle
 * claims the task and parses its payload with the type's DTO; `handle` gets that typed
 * payload and stays thin: call a pipeline service, report progress, return the result.
 * Only the lifecycle is required of a subclass, which injects it as `lifecycle`.
 */
export abstract class TaskProcessor<T extends TaskType> extends WorkerHost {
  /** The type this processor runs; the worker's boot checks it against the queue it listens on. */
  abstract readonly taskType: T;
  protected abstract readonly lifecycle: TaskLifecycleService;

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run(this.taskType, job, (context) => this.handle(context));
  }

  protected abstract handle(context: TaskContext<T>): Promise<unknown>;
}

/** Every processor instance, by the task type it declares it runs. */
export const TASK_PROCESSOR_HOSTS = Symbol('TASK_PROCESSOR_HOSTS');
export type TaskProcessorHosts = ReadonlyMap<TaskType, TaskProcessor<TaskType>>;

/**
 * Every task type's BullMQ worker, or a refusal to boot naming each type without one
 * (immich's job repository `setup()`): a type has a worker only if its processor is in the
 * handler registry, its `@Processor` names the type's queue, and BullMQ built the worker.
 */
export function workerPerType(processors: TaskProcessorHosts): Record<TaskType, Worker> {
  const workers: Partial<Record<TaskType, Worker>> = {};
  const problems: string[] = [];
  for (const type of TASK_TYPES) {
    const processor = processors.get(type);
    const worker = processor ? builtWorker(processor) : undefined;
    if (worker?.name === type) workers[type] = worker;
    else if (!processor) problems.push(`${type} (no processor)`);
    else
      problems.push(
        `${type} (${processor.constructor.name} ${worker ? `listens on ${worker.name}` : 'has no BullMQ worker; is it a @Processor?'})`,
      );
  }
  if (problems.length > 0) throw new Error(`No processor registered for task type(s): ${problems.join(', ')}`);
  return workers as Record<TaskType, Worker>;
}

/** WorkerHost's getter throws until @nestjs/bullmq has built the worker of a `@Processor` class. */
function builtWorker(processor: TaskProcessor<TaskType>): Worker | undefined {
  try {
    return processor.worker;
  } catch {
    return undefined;
  }
}
