import { DateTimeField, EnumField, IntField, StringField } from '../../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../../common/utils/id-patterns';
import { UUID_PATTERN } from '../../common/utils/uuid';
import {
  TASK_PRIORITIES,
  TASK_STATUSES,
  TASK_TYPES,
  TaskPriority,
  TaskStatus,
  TaskType,
} from '../../task-types/task-types';

export const SORT_FIELDS = [
  'created_at',
  'updated_at',
  'started_at',
  'completed_at',
  'priority',
  'status',
  'task_type',
  'progress',
] as const;
export type SortField = (typeof SORT_FIELDS)[number];
export const SORT_ORDERS = ['asc', 'desc'] as const;
export type SortOrder = (typeof SORT_ORDERS)[number];

/** Filters, sorting and paging of `GET /api/v1/tasks`. */
export class ListTasksQueryDto {
  @StringField({ required: false, maxLength: 128, pattern: KB_ID_PATTERN, example: 'kb_123' })
  kb_id?: string;

  @EnumField(TASK_STATUSES, { required: false, example: TaskStatus.processing })
  status?: TaskStatus;

  @EnumField(TASK_TYPES, { required: false, example: TaskType.document_processing })
  task_type?: TaskType;

  @EnumField(TASK_PRIORITIES, { required: false, example: TaskPriority.high })
  priority?: TaskPriority;

  @DateTimeField({ required: false, example: '2025-07-28T00:00:00Z', description: 'Created at or after this instant' })
  created_after?: string;

  @DateTimeField({ required: false, example: '2025-07-29T00:00:00Z', description: 'Created before this instant' })
  created_before?: string;

  @DateTimeField({
    required: false,
    example: '2025-07-28T00:00:00Z',
    description: 'Finished (completed, failed or cancelled) at or after this instant',
  })
  completed_after?: string;

  @DateTimeField({ required: false, example: '2025-07-29T00:00:00Z', description: 'Finished before this instant' })
  completed_before?: string;

  @StringField({
    required: false,
    maxLength: 36,
    pattern: UUID_PATTERN,
    patternMessage: '$property must be a UUID',
    example: '550e8400-e29b-41d4-a716-446655440000',
    description: 'Children of this task (batch items, pipeline stages)',
  })
  parent_id?: string;

  @StringField({
    required: false,
    maxLength: 200,
    example: '7d0c4a52-3f1e-4c1a-9a55-2c8f7f0e9b11',
    description: "Tasks about this document: its payload's or its result's document_id",
  })
  document_id?: string;

  @StringField({
    required: false,
    maxLength: 200,
    example: 'timed out',
    description: 'Tasks whose error_message contains this text (case-insensitive)',
  })
  error_contains?: string;

  @IntField({ required: false, min: 1, max: 1_000_000, default: 1, example: 1, fromQuery: true })
  page = 1;

  @IntField({ required: false, min: 1, max: 100, default: 20, example: 20, fromQuery: true })
  page_size = 20;

  @EnumField(SORT_FIELDS, {
    required: false,
    default: 'created_at',
    description: 'Field to sort by (ties broken by id)',
  })
  sort_by: SortField = 'created_at';

  @EnumField(SORT_ORDERS, { required: false, default: 'desc' })
  sort_order: SortOrder = 'desc';
}
