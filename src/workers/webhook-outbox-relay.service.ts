import { InjectQueue } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Queue } from 'bullmq';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { toResponse } from '../tasks/task-response.mapper';
import { PendingWebhook, WebhookDeliveryRepository } from '../webhooks/webhook-delivery.repository';
import { WEBHOOK_QUEUE, WebhookJobData } from '../webhooks/webhook-queue';

/** How often the outbox is looked at; an idle look is one index probe of an empty partial index. */
const POLL_MS = 250;
/** After a failed pass (database or Redis down) the next one waits this long, so the log is not flooded. */
const RETRY_AFTER_FAILURE_MS = 2000;
const CLAIM = 100;

/**
 * Moves terminal events of tasks with a callback_url from the PostgreSQL outbox to the
 * delivery queue. Every worker process runs one; SKIP LOCKED shares the work between them.
 * The job id is the event id, so an event handed out twice is still delivered once.
 */
@Injectable()
export class WebhookOutboxRelayService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WebhookOutboxRelayService.name);
  private readonly attempts: number;
  private readonly backoffMs: number;
  private timer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    @InjectQueue(WEBHOOK_QUEUE) private readonly queue: Queue<WebhookJobData>,
    config: ConfigService<AllConfig, true>,
  ) {
    const webhooks = config.getOrThrow('webhooks', { infer: true });
    this.attempts = webhooks.maxAttempts;
    this.backoffMs = webhooks.retryBackoffMs;
  }

  onApplicationBootstrap(): void {
    this.schedule(0);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  /** Queues every pending webhook; returns how many events were taken from the outbox. */
  async relay(): Promise<number> {
    let total = 0;
    for (;;) {
      const taken = await this.deliveries.drainOutbox(CLAIM, (pending) => this.enqueue(pending));
      total += taken;
      if (taken < CLAIM) return total;
    }
  }

  private schedule(delay = POLL_MS): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.relay().then(
        () => {
          this.schedule();
        },
        (error: unknown) => {
          this.logger.warn(`Webhook outbox not relayed yet: ${errorMessage(error)}`);
          this.schedule(RETRY_AFTER_FAILURE_MS);
        },
      );
    }, delay);
    this.timer.unref();
  }

  private async enqueue(pending: PendingWebhook[]): Promise<void> {
    if (pending.length === 0) return;
    await this.queue.addBulk(
      pending
        .filter((p) => p.task.callbackUrl)
        .map((p) => ({
          name: `task.${p.status}`,
          data: {
            taskId: p.task.id,
            eventId: p.eventId.toString(),
            event: `task.${p.status}`,
            url: p.task.callbackUrl!,
            // The task as GET /api/v1/tasks/{id} shows it; a finished task has no queue position and its ETA is its end.
            body: JSON.stringify(toResponse(p.task, 0, p.task.completedAt)),
          },
          opts: {
            jobId: `event-${p.eventId}`,
            attempts: this.attempts,
            backoff: { type: 'exponential', delay: this.backoffMs },
            removeOnComplete: { age: 24 * 3600, count: 10000 },
            removeOnFail: { age: 7 * 24 * 3600 },
          },
        })),
    );
  }
}
