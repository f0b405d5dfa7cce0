import type { ClassConstructor } from 'class-transformer';
import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECONDS } from './create-task.dto';
import {
  BatchProcessingPayloadDto,
  DocumentProcessingPayloadDto,
  EmbeddingGenerationPayloadDto,
  HealthCheckPayloadDto,
  KnowledgeIndexingPayloadDto,
  VectorStoragePayloadDto,
} from './task-payloads.dto';
import { TaskType } from './task-types';

/** What a task of a type gets when its request leaves these out. */
export interface TaskDefaults {
  maxRetries: number;
  timeoutSeconds: number;
}

/** Everything the API and the workers need to know about one task type, except the code that runs it. */
export interface TaskTypeDefinition<P extends object = object> {
  /** Validates the payload (its declared keys), documents it in OpenAPI, and is what the processor receives. */
  payload: ClassConstructor<P>;
  defaults: TaskDefaults;
}

/** The request DTO names the contract's defaults (so OpenAPI shows them); every type uses them today. */
const CONTRACT_DEFAULTS: TaskDefaults = { maxRetries: DEFAULT_MAX_RETRIES, timeoutSeconds: DEFAULT_TIMEOUT_SECONDS };

/**
 * The task types, one entry each. A new type needs an entry here (the compiler refuses a
 * missing one) and a processor in workers/task-processors.ts, which the worker refuses to
 * boot without. The order is the order of the payload schemas in the OpenAPI document.
 */
export const TASK_TYPE_REGISTRY = {
  [TaskType.health_check]: { payload: HealthCheckPayloadDto, defaults: CONTRACT_DEFAULTS },
  [TaskType.document_processing]: { payload: DocumentProcessingPayloadDto, defaults: CONTRACT_DEFAULTS },
  [TaskType.embedding_generation]: { payload: EmbeddingGenerationPayloadDto, defaults: CONTRACT_DEFAULTS },
  [TaskType.vector_storage]: { payload: VectorStoragePayloadDto, defaults: CONTRACT_DEFAULTS },
  [TaskType.knowledge_indexing]: { payload: KnowledgeIndexingPayloadDto, defaults: CONTRACT_DEFAULTS },
  [TaskType.batch_processing]: { payload: BatchProcessingPayloadDto, defaults: CONTRACT_DEFAULTS },
} as const satisfies Record<TaskType, TaskTypeDefinition>;

type Registry = typeof TASK_TYPE_REGISTRY;

/** What a processor gets as the payload of a task of type T: the validated instance of the type's payload DTO. */
export type PayloadOf<T extends TaskType> = InstanceType<Registry[T]['payload']>;

/** Every payload DTO class, in registry order (the OpenAPI document lists them so). */
export const PAYLOAD_DTOS: readonly ClassConstructor<object>[] = Object.values(TASK_TYPE_REGISTRY).map(
  (definition) => definition.payload,
);

export function payloadDtoOf<T extends TaskType>(taskType: T): ClassConstructor<PayloadOf<T>> {
  // An index by a generic key widens to the union of every entry's class; the entry for T is PayloadOf<T>'s class by definition.
  return TASK_TYPE_REGISTRY[taskType].payload as ClassConstructor<PayloadOf<T>>;
}

export function taskDefaults(taskType: TaskType): TaskDefaults {
  return TASK_TYPE_REGISTRY[taskType].defaults;
}
