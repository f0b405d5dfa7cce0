import type { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { collectDefaultMetrics, register } from 'prom-client';

/**
 * Every metric of the service, declared once. Values that vary (task type, priority,
 * status, route) are labels, never part of a metric's name. Names follow Prometheus'
 * conventions: counters end in `_total`, durations are in seconds.
 *
 * The task counters count lifecycle events in this process, and add up per task type:
 *
 *   created + resumed + retried = completed + failed + cancelled + in flight
 *
 * where in flight is `task_manager_tasks{status=~"queued|processing"}` (read from
 * PostgreSQL). TaskMetricsService says what each event is and when the identity is exact.
 */
export const METRIC = {
  tasksCreated: 'task_manager_tasks_created_total',
  tasksResumed: 'task_manager_tasks_resumed_total',
  tasksRetried: 'task_manager_tasks_retried_total',
  tasksCompleted: 'task_manager_tasks_completed_total',
  tasksFailed: 'task_manager_tasks_failed_total',
  tasksCancelled: 'task_manager_tasks_cancelled_total',
  taskAttemptsFailed: 'task_manager_task_attempts_failed_total',
  taskDuration: 'task_manager_task_duration_seconds',
  taskQueueWait: 'task_manager_task_queue_wait_seconds',
  tasks: 'task_manager_tasks',
  queueDepth: 'task_manager_queue_depth',
  workers: 'task_manager_workers',
  workerSlots: 'task_manager_worker_slots',
  redisUp: 'task_manager_redis_up',
  httpDuration: 'task_manager_http_request_duration_seconds',
  embeddingThrottleWait: 'task_manager_embedding_throttle_wait_seconds',
  embeddingRateLimited: 'task_manager_embedding_rate_limited_total',
} as const;

/** The label values every labelled series starts with (at 0), so a rate exists before the first event. */
export const ATTEMPT_FAILURE_REASONS = ['error', 'timeout', 'permanent', 'stalled'] as const;
export type AttemptFailureReason = (typeof ATTEMPT_FAILURE_REASONS)[number];
export const DURATION_STATUSES = ['completed', 'failed'] as const;
export const WORKER_STATUSES = ['busy', 'idle', 'stopping'] as const;
export const SLOT_STATES = ['busy', 'idle'] as const;

const TASK_LABELS = ['task_type', 'priority'];

export const metricProviders = [
  makeCounterProvider({
    name: METRIC.tasksCreated,
    help: 'Tasks that entered the system through this process: API creates (single and batch) and the child tasks a parent started',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.tasksResumed,
    help: 'Tasks already queued or processing in PostgreSQL when this process started: its opening balance',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.tasksRetried,
    help: 'Failed or cancelled tasks put back in the queue (manual or bulk retry, or a re-run parent retrying its children)',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.tasksCompleted,
    help: 'Tasks that ended completed (a parent when its children have settled)',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.tasksFailed,
    help: 'Tasks that ended failed: their last attempt failed, or a parent whose pipeline failed',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.tasksCancelled,
    help: 'Tasks that ended cancelled, including the children of a cancelled parent',
    labelNames: TASK_LABELS,
  }),
  makeCounterProvider({
    name: METRIC.taskAttemptsFailed,
    help: 'Failed attempts, including those retried automatically',
    labelNames: [...TASK_LABELS, 'reason'],
  }),
  makeHistogramProvider({
    name: METRIC.taskDuration,
    help: 'Run time in seconds of one attempt; for a parent, from its start until its children settled',
    labelNames: ['task_type', 'status'],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600],
  }),
  makeHistogramProvider({
    name: METRIC.taskQueueWait,
    help: 'Seconds from a task being due (created, or its schedule_for) to its first attempt starting',
    labelNames: TASK_LABELS,
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600],
  }),
  makeGaugeProvider({
    name: METRIC.tasks,
    help: 'Tasks per type and status in PostgreSQL, across all processes, read at scrape time',
    labelNames: ['task_type', 'status'],
  }),
  makeGaugeProvider({
    name: METRIC.queueDepth,
    help: 'Jobs per queue and state, read from BullMQ at scrape time',
    labelNames: ['queue', 'state'],
  }),
  makeGaugeProvider({
    name: METRIC.workers,
    help: 'Live worker processes (those heartbeating into Redis) by status',
    labelNames: ['status'],
  }),
  makeGaugeProvider({
    name: METRIC.workerSlots,
    help: 'Task slots (concurrency) of the live worker processes, busy or idle',
    labelNames: ['state'],
  }),
  makeGaugeProvider({
    name: METRIC.redisUp,
    help: 'Whether Redis answered a PING at scrape time (1) or not (0)',
  }),
  makeHistogramProvider({
    name: METRIC.httpDuration,
    help: 'HTTP request duration in seconds',
    labelNames: ['method', 'route', 'status_code'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
  }),
  makeHistogramProvider({
    name: METRIC.embeddingThrottleWait,
    help: 'Seconds an embedding request waited for the shared provider budget (requests and tokens per minute, a 429 reset) before it was sent; 0 when it went at once',
    buckets: [0.001, 0.01, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
  }),
  makeCounterProvider({
    name: METRIC.embeddingRateLimited,
    help: 'Embedding requests the provider refused with 429 (each pauses every process until the reset)',
  }),
];

/**
 * Node's process metrics (CPU, memory, event loop, GC) in every role: the API serves them at
 * /metrics, a worker on WORKER_METRICS_PORT. Started once per process, however many apps it
 * builds (the tests build many), since prom-client refuses a second registration.
 */
export const processMetricsProvider: Provider = {
  provide: 'PROCESS_METRICS',
  useFactory: (): boolean => {
    if (!register.getSingleMetric('nodejs_version_info')) collectDefaultMetrics();
    return true;
  },
};
