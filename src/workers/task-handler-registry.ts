import type { FactoryProvider, Type } from '@nestjs/common';
import { TaskType } from '../task-types/task-types';
import { BatchProcessingProcessor } from './processors/batch-processing.processor';
import { DocumentProcessingProcessor } from './processors/document-processing.processor';
import { EmbeddingGenerationProcessor } from './processors/embedding-generation.processor';
import { HealthCheckProcessor } from './processors/health-check.processor';
import { KnowledgeIndexingProcessor } from './processors/knowledge-indexing.processor';
import { VectorStorageProcessor } from './processors/vector-storage.processor';
import { TASK_PROCESSOR_HOSTS, type TaskProcessor, type TaskProcessorHosts } from './task-processor';

/**
 * The handler half of the task-type registry: each type's processor. The other half
 * (task-types/task-type-registry.ts: payload DTO, payload type, defaults) is read by the API's
 * validator and OpenAPI document, which must not depend on the workers; and a processor
 * depends on that validator through the lifecycle, so one file holding both halves would be
 * an import cycle. The compiler refuses a task type without an entry here, or an entry whose
 * processor runs another type; the worker refuses to boot when a processor has no worker.
 */
export const TASK_PROCESSORS = {
  [TaskType.health_check]: HealthCheckProcessor,
  [TaskType.document_processing]: DocumentProcessingProcessor,
  [TaskType.embedding_generation]: EmbeddingGenerationProcessor,
  [TaskType.vector_storage]: VectorStorageProcessor,
  [TaskType.knowledge_indexing]: KnowledgeIndexingProcessor,
  [TaskType.batch_processing]: BatchProcessingProcessor,
} as const satisfies { [T in TaskType]: Type<TaskProcessor<T>> };

/** Hands the worker's bootstrap every processor instance, keyed by the task type it declares. */
export const taskProcessorHostsProvider: FactoryProvider<TaskProcessorHosts> = {
  provide: TASK_PROCESSOR_HOSTS,
  inject: Object.values(TASK_PROCESSORS),
  useFactory: (...processors: TaskProcessor<TaskType>[]) =>
    new Map(processors.map((processor) => [processor.taskType, processor])),
};
