import { BullModule } from '@nestjs/bullmq';
import { Module } from '@nestjs/common';
import { WebhookDeliveryRepository } from './webhook-delivery.repository';
import { WEBHOOK_QUEUE } from './webhook-queue';
import { WebhookUrlPolicy } from './webhook-url-policy.service';

/**
 * What both roles need of webhooks: the URL policy (checked when a task is created), the
 * delivery record (shown in a task's history) and the delivery queue (for Bull Board).
 */
@Module({
  imports: [BullModule.registerQueue({ name: WEBHOOK_QUEUE })],
  providers: [WebhookUrlPolicy, WebhookDeliveryRepository],
  exports: [WebhookUrlPolicy, WebhookDeliveryRepository, BullModule],
})
export class WebhooksModule {}
