import { Module } from '@nestjs/common';
import { WebhookDeliveryProcessor } from './webhook-delivery.processor';
import { WebhookOutboxRelayService } from '../workers/webhook-outbox-relay.service';
import { WebhooksModule } from './webhooks.module';

/** The worker side of webhooks: the outbox relay and the delivery processor (worker role only). */
@Module({
  imports: [WebhooksModule],
  providers: [WebhookOutboxRelayService, WebhookDeliveryProcessor],
})
export class WebhookDeliveryModule {}
