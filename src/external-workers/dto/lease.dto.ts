import { ApiProperty } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsBoolean, IsDefined, IsIn } from 'class-validator';
import { IntField, ObjectField, StringField, UuidField } from '../../common/decorators/validation.decorators';
import { TASK_PRIORITIES, TASK_TYPES, TaskPriority, TaskType } from '../../task-types/task-types';

const EXAMPLE_LEASE_TOKEN = '9b2f4c7e-1d3a-4f5b-8c6d-7e8f9a0b1c2d';
const LEASE_TOKEN = { example: EXAMPLE_LEASE_TOKEN, description: 'The lease_token the task was leased with' };

/** `POST /api/v1/workers/lease`: which tasks an external worker wants, how many, and how long it waits for them. */
export class LeaseRequestDto {
  @StringField({
    maxLength: 128,
    pattern: /^[A-Za-z0-9._:@-]+$/,
    patternMessage: '$property may hold letters, digits and . _ : @ - only',
    example: 'py-embedder-1',
    description: "The worker's name: recorded as the task's worker_id while it runs",
  })
  worker_id!: string;

  @ApiProperty({
    enum: TASK_TYPES,
    isArray: true,
    minItems: 1,
    // Stated here because the build's Swagger plugin derives it from @ArrayUnique and the tests' compile does not.
    uniqueItems: true,
    example: [TaskType.embedding_generation],
    description: 'Task types to lease; each must be one of EXTERNAL_TASK_TYPES',
  })
  @IsDefined({ message: '$property is required' })
  @IsArray({ message: '$property must be an array' })
  @ArrayMinSize(1, { message: '$property must name at least one task type' })
  @ArrayMaxSize(TASK_TYPES.length, { message: `$property must name at most ${TASK_TYPES.length} task types` })
  @ArrayUnique({ message: '$property must not repeat a task type' })
  @IsIn(TASK_TYPES, { each: true, message: `each of $property must be one of: ${TASK_TYPES.join(', ')}` })
  task_types!: TaskType[];

  @IntField({ required: false, min: 1, max: 100, default: 1, example: 4, description: 'At most this many tasks' })
  max_tasks = 1;

  @IntField({
    required: false,
    min: 1,
    max: 3600,
    default: 60,
    example: 30,
    description: 'Each lease ends this many seconds from now unless a heartbeat extends it',
  })
  lease_seconds = 60;

  @IntField({
    required: false,
    min: 0,
    max: 60,
    default: 0,
    example: 20,
    description: 'When no task is due, wait up to this long for one (long poll); 0 answers at once',
  })
  wait_seconds = 0;
}

/** A leased task: what the worker needs to run it, and the lease it holds it by. */
export class LeasedTaskDto {
  @ApiProperty({ format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' })
  id!: string;

  @ApiProperty({ example: 'kb_123456' })
  kb_id!: string;

  @ApiProperty({ enum: TASK_TYPES, example: TaskType.embedding_generation })
  task_type!: TaskType;

  @ApiProperty({ enum: TASK_PRIORITIES, example: TaskPriority.normal })
  priority!: TaskPriority;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: { texts: ['What is a vector database?'] },
    description: 'The payload as the task was created with it',
  })
  payload!: Record<string, unknown>;

  @ApiProperty({ type: 'integer', example: 1, description: 'Executions started so far, this one included' })
  attempt!: number;

  @ApiProperty({ type: 'integer', example: 3 })
  max_retries!: number;

  @ApiProperty({
    type: 'integer',
    example: 300,
    description: "The task's timeout in seconds (for the worker to honour)",
  })
  timeout!: number;

  @ApiProperty({
    format: 'uuid',
    example: EXAMPLE_LEASE_TOKEN,
    description: 'Carried by every call made for this task',
  })
  lease_token!: string;

  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:31:00.000Z' })
  lease_expires_at!: string;
}

export class LeaseResponseDto {
  @ApiProperty({ type: [LeasedTaskDto], description: 'Empty when none became due within wait_seconds' })
  tasks!: LeasedTaskDto[];
}

/** `POST /api/v1/tasks/{task_id}/heartbeat`: the worker is alive; optionally how far it got. */
export class HeartbeatDto {
  @UuidField(LEASE_TOKEN)
  lease_token!: string;

  @IntField({
    required: false,
    min: 1,
    max: 3600,
    example: 30,
    description: 'The lease now ends this many seconds from now; absent: its end is unchanged',
  })
  lease_seconds?: number;

  @IntField({ required: false, min: 0, max: 100, example: 40, description: 'Percent done (a lower value is ignored)' })
  progress?: number;

  @StringField({ required: false, maxLength: 1000, example: 'Embedded 40 of 100 texts' })
  message?: string;
}

export class HeartbeatResponseDto {
  @ApiProperty({ format: 'uuid', example: '550e8400-e29b-41d4-a716-446655440000' })
  task_id!: string;

  @ApiProperty({ format: 'uuid', example: EXAMPLE_LEASE_TOKEN })
  lease_token!: string;

  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:31:30.000Z' })
  lease_expires_at!: string;

  @ApiProperty({ type: 'integer', minimum: 0, maximum: 100, example: 40 })
  progress!: number;
}

/** `POST /api/v1/tasks/{task_id}/complete`: the task succeeded with this result. */
export class CompleteLeasedTaskDto {
  @UuidField(LEASE_TOKEN)
  lease_token!: string;

  @ObjectField({
    example: {
      model: 'hashing-murmur3-unigram-bigram-v1',
      dimension: 384,
      embedded: 1,
      vectors: [[0.1]],
      stored: null,
    },
    description: "The task's result, in its task type's documented shape",
  })
  result!: Record<string, unknown>;
}

/** `POST /api/v1/tasks/{task_id}/fail`: the attempt failed. */
export class FailLeasedTaskDto {
  @UuidField(LEASE_TOKEN)
  lease_token!: string;

  @StringField({
    maxLength: 10_000,
    example: 'CUDA out of memory',
    description: 'What went wrong (kept as error_message)',
  })
  error!: string;

  @ApiProperty({
    example: true,
    description:
      'true: the task is queued again after its backoff while it has retries left (max_retries), else it fails; false: it fails now',
  })
  @IsDefined({ message: '$property is required' })
  @IsBoolean({ message: '$property must be a boolean' })
  retryable!: boolean;
}
