import { Module } from '@nestjs/common';
import { TasksModule } from '../tasks/tasks.module';
import { WebhooksModule } from '../webhooks/webhooks.module';
import { TaskEventFeedService } from './task-event-feed.service';
import { TaskEventStreamService } from './task-event-stream.service';
import { TaskEventRepository } from './task-event.repository';

/** Task history and live events (API role only): one event feed per process for the SSE endpoints. */
@Module({
  imports: [TasksModule, WebhooksModule],
  providers: [TaskEventRepository, TaskEventFeedService, TaskEventStreamService],
  exports: [TaskEventStreamService],
})
export class EventsModule {}
