import { getQueueToken } from '@nestjs/bullmq';
import type { FactoryProvider } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { TASK_TYPES, type TaskJobData, type TaskType } from '../task-types/task-types';

/** Every task type's BullMQ queue, by type: registered from TASK_TYPES, so a new type gets its queue without new wiring. */
export const TASK_QUEUES = Symbol('TASK_QUEUES');
export type TaskQueues = Readonly<Record<TaskType, Queue<TaskJobData>>>;

export const taskQueuesProvider: FactoryProvider<TaskQueues> = {
  provide: TASK_QUEUES,
  inject: TASK_TYPES.map((type) => getQueueToken(type)),
  useFactory: (...queues: Queue<TaskJobData>[]) =>
    Object.fromEntries(TASK_TYPES.map((type, i) => [type, queues[i]])) as TaskQueues,
};
