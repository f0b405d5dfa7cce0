import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardModule } from '@bull-board/nestjs';
import { Module } from '@nestjs/common';
import { TASK_TYPES } from '../task-types/task-types';
import { WEBHOOK_QUEUE } from '../webhooks/webhook-queue';
import { WebhooksModule } from '../webhooks/webhooks.module';

/** Where Bull Board is served. */
export const QUEUE_BOARD_ROUTE = '/admin/queues';

/**
 * Bull Board at /admin/queues: the queue-level view (jobs by state, their data, failures;
 * retry, promote, clean) of the six task queues and the webhook delivery queue, for
 * operators. Task-level state lives in the API and /dashboard.
 *
 * Access: the admin role. Bull Board is a plain Fastify plugin, out of reach of Nest guards,
 * so the check is the onRequest hook `browserAuthHook` (src/auth/browser-auth.middleware.ts)
 * that createHttpApp (src/bootstrap.ts) attaches to each of its routes.
 */
@Module({
  imports: [
    WebhooksModule,
    BullBoardModule.forRoot({
      route: QUEUE_BOARD_ROUTE,
      adapter: FastifyAdapter,
      boardOptions: { uiConfig: { boardTitle: 'task-manager' } },
    }),
    BullBoardModule.forFeature(...[...TASK_TYPES, WEBHOOK_QUEUE].map((name) => ({ name, adapter: BullMQAdapter }))),
  ],
})
export class AdminModule {}
