import { Module } from '@nestjs/common';
import { WebhookDeliveryProcessor } from './webhooks/webhook-delivery.processor';
import { WebhooksModule } from './webhooks/webhooks.module';
import { WebhookOutboxRelayService } from './workers/webhook-outbox-relay.service';
import { WorkersModule } from './workers/workers.module';

/**
 * The worker role: the task processors and their lifecycle (WorkersModule), the webhook
 * outbox relay and the webhook delivery processor. No controller and no HTTP provider:
 * test/e2e/worker-role.e2e-spec.ts checks the running app, src/layers.spec.ts the imports.
 */
@Module({
  imports: [WorkersModule, WebhooksModule],
  providers: [WebhookOutboxRelayService, WebhookDeliveryProcessor],
})
export class WorkerModule {}
