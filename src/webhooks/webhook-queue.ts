/**
 * The BullMQ queue of webhook deliveries. Not a task type: it has no row in `tasks`, is not
 * in TASK_TYPES and is not listed by the task queue endpoints; Bull Board shows it.
 */
export const WEBHOOK_QUEUE = 'webhook-delivery';

/** What a delivery job carries. The body is fixed when the job is queued, so every retry sends the same bytes. */
export interface WebhookJobData {
  taskId: string;
  /** The terminal task event reported (a bigint, as text). */
  eventId: string;
  /** `task.completed`, `task.failed` or `task.cancelled`. */
  event: string;
  url: string;
  body: string;
}
