import { ApiProperty } from '@nestjs/swagger';
import { TASK_STATUSES, TaskStatus } from '../../task-types/task-types';
import { WebhookDeliveryDto } from '../../webhooks/dto/webhook-delivery.dto';
import { ATTEMPT_OUTCOMES, AttemptOutcome } from '../task-attempts';
import { TaskEventDto } from './task-event.dto';

/** One execution of a task, from the event that claimed it to the one that ended it. */
export class TaskAttemptDto {
  @ApiProperty({ type: 'integer', example: 1 })
  attempt!: number;

  @ApiProperty({
    enum: ATTEMPT_OUTCOMES,
    example: 'retried',
    description:
      'completed, failed (final), retried (failed, queued again), cancelled, requeued (its worker was lost), superseded (re-run by another worker before it ended), running',
  })
  outcome!: AttemptOutcome;

  @ApiProperty({ nullable: true, type: String, example: 'worker_host-1_4242_a1b2' })
  worker_id!: string | null;

  @ApiProperty({ format: 'date-time' })
  started_at!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String, description: 'null while running' })
  ended_at!: string | null;

  @ApiProperty({
    nullable: true,
    type: Number,
    example: 1.204,
    description: 'Seconds from start to end; null while running',
  })
  duration_seconds!: number | null;

  @ApiProperty({ nullable: true, type: String, example: 'Task timed out after 1s' })
  error!: string | null;
}

/** `GET /api/v1/tasks/{task_id}/history`: everything that happened to a task, oldest first. */
export class TaskHistoryDto {
  @ApiProperty({ format: 'uuid' })
  task_id!: string;

  @ApiProperty({ enum: TASK_STATUSES, example: TaskStatus.failed, description: 'Status now' })
  status!: TaskStatus;

  @ApiProperty({ type: [TaskAttemptDto], description: 'Each execution with its outcome, duration and error' })
  attempts!: TaskAttemptDto[];

  @ApiProperty({ type: [TaskEventDto], description: 'Every state change and progress report' })
  events!: TaskEventDto[];

  @ApiProperty({ type: [WebhookDeliveryDto], description: 'Every attempt to deliver the callback_url webhook' })
  webhook_deliveries!: WebhookDeliveryDto[];
}
