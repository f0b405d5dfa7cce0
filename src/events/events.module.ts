import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { TaskEventFeedService } from './task-event-feed.service';
import { TaskEventStreamService } from './task-event-stream.service';
import { TaskEventRepository } from './task-event.repository';
import { TaskEventsController } from './task-events.controller';

/** Task history and live events (API role): the SSE endpoints, one event feed per process. */
@Module({
  imports: [TasksModule, WebhooksModule],
  controllers: [TaskEventsController],
  providers: [TaskEventRepository, TaskEventFeedService, TaskEventStreamService],
})
export class EventsModule {}
