import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import type { TaskPriority, TaskType } from '../queues/task-types';
import { METRIC } from './metrics';

type TaskLabels = { taskType: TaskType; priority: TaskPriority };

/** The lifecycle's window onto the task metrics, so handlers never touch metrics themselves. */
@Injectable()
export class TaskMetricsService {
  constructor(
    @InjectMetric(METRIC.tasksCreated) private readonly created: Counter<string>,
    @InjectMetric(METRIC.tasksCompleted) private readonly completed: Counter<string>,
    @InjectMetric(METRIC.tasksFailed) private readonly failed: Counter<string>,
    @InjectMetric(METRIC.taskAttemptsFailed) private readonly attemptsFailed: Counter<string>,
    @InjectMetric(METRIC.taskDuration) private readonly duration: Histogram<string>,
  ) {}

  taskCreated({ taskType, priority }: TaskLabels, count = 1): void {
    this.created.inc({ task_type: taskType, priority }, count);
  }

  taskCompleted({ taskType, priority }: TaskLabels, seconds: number): void {
    this.completed.inc({ task_type: taskType, priority });
    this.duration.observe({ task_type: taskType, status: 'completed' }, seconds);
  }

  attemptFailed({ taskType, priority }: TaskLabels, seconds: number, reason: string, final: boolean): void {
    this.attemptsFailed.inc({ task_type: taskType, priority, reason });
    this.duration.observe({ task_type: taskType, status: 'failed' }, seconds);
    if (final) this.failed.inc({ task_type: taskType, priority });
  }
}
