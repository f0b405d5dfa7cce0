import { IntField, StringField } from '../../common/decorators/validation.decorators';

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
}
