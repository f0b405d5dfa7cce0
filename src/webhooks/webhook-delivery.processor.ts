import { Processor, WorkerHost } from '@nestjs/bullmq';
import { ConfigService } from '@nestjs/config';
import { Job, UnrecoverableError } from 'bullmq';
import type { AllConfig } from '../config/app.config';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WEBHOOK_QUEUE, WebhookJobData } from './webhook-queue';
import { postWebhook } from './webhook-sender';
import { SIGNATURE_HEADER, signWebhook } from './webhook-signature';
import { ResolvedAddress, WebhookRefusedError, WebhookUrlPolicy } from './webhook-url-policy.service';

/** Deliveries in flight per worker process; they mostly wait on the network. */
const CONCURRENCY = 16;

/**
 * One delivery attempt: check the URL again, sign the body, POST it, record the attempt on
 * the task. Anything but a 2xx throws, so BullMQ retries with exponential backoff up to
 * WEBHOOK_MAX_ATTEMPTS; a URL the policy now refuses is not retried.
 */
@Processor(WEBHOOK_QUEUE, { concurrency: CONCURRENCY })
export class WebhookDeliveryProcessor extends WorkerHost {
  private readonly timeoutMs: number;
  private readonly userAgent: string;

  constructor(
    private readonly deliveries: WebhookDeliveryRepository,
    private readonly policy: WebhookUrlPolicy,
    config: ConfigService<AllConfig, true>,
  ) {
    super();
    this.timeoutMs = config.getOrThrow('webhooks.timeoutMs', { infer: true });
    this.userAgent = `task-manager-webhooks/${config.getOrThrow('app.version', { infer: true })}`;
  }

  async process(job: Job<WebhookJobData>): Promise<{ status: number } | { skipped: string }> {
    const { taskId, eventId, event, url, body } = job.data;
    const secret = await this.deliveries.callbackSecret(taskId);
    if (secret === undefined) return { skipped: 'the task no longer exists' };
    const started = Date.now();
    const record = (statusCode: number | null, error: string | null) =>
      this.deliveries.record({
        taskId,
        eventId: BigInt(eventId),
        attempt: job.attemptsMade + 1,
        url,
        statusCode,
        error,
        durationMs: Date.now() - started,
        succeeded: error === null,
      });

    let addresses: ResolvedAddress[];
    try {
      addresses = await this.policy.resolve(url);
    } catch (error) {
      if (!(error instanceof WebhookRefusedError)) throw error;
      await record(null, error.message);
      throw new UnrecoverableError(error.message);
    }

    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      'Content-Type': 'application/json',
      'User-Agent': this.userAgent,
      'X-TaskManager-Event': event,
      'X-TaskManager-Delivery': eventId,
      'X-TaskManager-Attempt': String(job.attemptsMade + 1),
      ...(secret ? { [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body) } : {}),
    };
    let status: number;
    try {
      status = await postWebhook(url, addresses, body, headers, this.timeoutMs);
    } catch (error) {
      await record(null, (error as Error).message);
      throw error;
    }
    const succeeded = status >= 200 && status < 300;
    await record(status, succeeded ? null : `Receiver answered ${status}`);
    if (!succeeded) throw new Error(`Receiver answered ${status}`);
    return { status };
  }
}
