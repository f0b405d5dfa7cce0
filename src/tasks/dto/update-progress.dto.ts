import { IntField, StringField, UuidField } from '../../common/decorators/validation.decorators';

/** `PUT /api/v1/tasks/{task_id}/progress`: what a worker reports while a task runs. */
export class UpdateProgressDto {
  @IntField({ min: 0, max: 100, example: 75, description: 'Percent done, 0–100' })
  progress!: number;

  @StringField({
    required: false,
    maxLength: 1000,
    example: 'Processing embeddings...',
    description: 'What the task is doing now',
  })
  message?: string;

  // No example: "Try it out" reports progress as a built-in worker would, without a lease.
  @UuidField({
    required: false,
    description:
      'An external worker sends the lease_token it leased the task with: the report is then refused (409 TASK_CANCELLED, LEASE_EXPIRED, LEASE_LOST) unless that lease still holds the task',
  })
  lease_token?: string;
}
