import {
  DateTimeField,
  EnumField,
  IntField,
  ObjectField,
  StringField,
} from '../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../common/utils/id-patterns';
import { TASK_PRIORITIES, TASK_TYPES, TaskPriority, TaskType } from './task-types';

export const MAX_RETRIES_LIMIT = 25;
export const TIMEOUT_LIMIT_SECONDS = 86400;
/** The contract's defaults for a task request that leaves these out. */
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_TIMEOUT_SECONDS = 300;

/** A task to submit: `POST /api/v1/tasks`, and each item of `POST /api/v1/tasks/batch`. */
export class CreateTaskDto {
  @EnumField(TASK_TYPES, { example: TaskType.document_processing, description: 'What kind of work to run' })
  task_type!: TaskType;

  @StringField({
    maxLength: 128,
    pattern: KB_ID_PATTERN,
    patternMessage: '$property may hold letters, digits, _ . : - and must start with a letter or digit',
    example: 'kb_123456',
    description: 'Knowledge base the task belongs to',
  })
  kb_id!: string;

  @EnumField(TASK_PRIORITIES, {
    required: false,
    default: TaskPriority.normal,
    example: TaskPriority.high,
    description: 'critical runs before high, before normal, before low',
  })
  priority?: TaskPriority;

  @ObjectField({
    example: { file_path: '/tmp/uploads/document.pdf', chunk_size: 1000, chunk_overlap: 200 },
    description:
      "Task-type specific input (a JSON object). The keys of its task_type are validated: HealthCheckPayloadDto, DocumentProcessingPayloadDto, EmbeddingGenerationPayloadDto, VectorStoragePayloadDto, KnowledgeIndexingPayloadDto or BatchProcessingPayloadDto (see Schemas); any other key is the caller's (a trace id, a source name) and is stored and returned as sent",
  })
  payload!: Record<string, unknown>;

  @IntField({
    required: false,
    min: 0,
    max: MAX_RETRIES_LIMIT,
    default: DEFAULT_MAX_RETRIES,
    example: DEFAULT_MAX_RETRIES,
    description: 'Automatic retries after a failed attempt, with exponential backoff',
  })
  max_retries?: number;

  @IntField({
    required: false,
    min: 1,
    max: TIMEOUT_LIMIT_SECONDS,
    default: DEFAULT_TIMEOUT_SECONDS,
    example: DEFAULT_TIMEOUT_SECONDS,
    description: 'Seconds one attempt may run before it fails with a timeout error',
  })
  timeout?: number;

  @DateTimeField({
    required: false,
    example: '2025-07-28T14:30:00Z',
    description: 'Run no earlier than this instant (ISO 8601); a past instant runs at once',
  })
  schedule_for?: string;

  @StringField({
    required: false,
    maxLength: 2048,
    pattern: /^https?:\/\//i,
    patternMessage: '$property must be an http:// or https:// URL',
    example: 'https://hooks.example.com/task-done',
    description:
      'POSTed the task JSON once it is completed, failed or cancelled (retried with backoff until a 2xx). Private, loopback and link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE',
  })
  callback_url?: string;

  @StringField({
    required: false,
    maxLength: 256,
    example: 'whsec_2b7e151628aed2a6abf7158809cf4f3c',
    description: 'Key of the HMAC-SHA256 signature sent in X-TaskManager-Signature; never returned',
  })
  callback_secret?: string;
}
