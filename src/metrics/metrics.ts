import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';

/**
 * Every metric of the service, declared once. Values that vary (task type, priority,
 * status, route) are labels, never part of a metric's name.
 */
export const METRIC = {
  tasksCreated: 'task_manager_tasks_created_total',
  tasksCompleted: 'task_manager_tasks_completed_total',
  tasksFailed: 'task_manager_tasks_failed_total',
  taskAttemptsFailed: 'task_manager_task_attempts_failed_total',
  taskDuration: 'task_manager_task_duration_seconds',
  queueDepth: 'task_manager_queue_depth',
  httpDuration: 'task_manager_http_request_duration_seconds',
} as const;

export const metricProviders = [
  makeCounterProvider({
    name: METRIC.tasksCreated,
    help: 'Tasks accepted by the API',
    labelNames: ['task_type', 'priority'],
  }),
  makeCounterProvider({
    name: METRIC.tasksCompleted,
    help: 'Tasks that ended completed',
    labelNames: ['task_type', 'priority'],
  }),
  makeCounterProvider({
    name: METRIC.tasksFailed,
    help: 'Tasks that ended failed after their last attempt',
    labelNames: ['task_type', 'priority'],
  }),
  makeCounterProvider({
    name: METRIC.taskAttemptsFailed,
    help: 'Failed attempts, including those retried',
    labelNames: ['task_type', 'priority', 'reason'],
  }),
  makeHistogramProvider({
    name: METRIC.taskDuration,
    help: 'Run time of one attempt in seconds',
    labelNames: ['task_type', 'status'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900],
  }),
  makeGaugeProvider({
    name: METRIC.queueDepth,
    help: 'Jobs per queue and state, read from BullMQ at scrape time',
    labelNames: ['queue', 'state'],
  }),
  makeHistogramProvider({
    name: METRIC.httpDuration,
    help: 'HTTP request duration in seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
];
