import type { OpenAPIObject } from '@nestjs/swagger';
import type {
  ExamplesObject,
  OperationObject,
  RequestBodyObject,
} from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { SAMPLE_DOCUMENT_PATH } from '../kbs/sample-document.service';
import { TaskType } from '../task-types/task-types';

/**
 * Request examples that run as they are on a fresh `npm start`, which is what Swagger UI's
 * "Try it out" sends: the document is the sample the service seeds into UPLOAD_DIR, no
 * callback_url (its host must resolve to a public address) and no schedule_for. The
 * vector_storage example has a kb of its own, since a kb keeps the dimension of its
 * first vectors and the embedder's may differ.
 */
export const TASK_REQUEST_EXAMPLES: Record<TaskType, { summary: string; value: Record<string, unknown> }> = {
  [TaskType.document_processing]: {
    summary: 'Process the sample document, then embed, store and index it',
    value: {
      task_type: TaskType.document_processing,
      kb_id: 'kb_123456',
      priority: 'high',
      payload: { file_path: SAMPLE_DOCUMENT_PATH, chunk_size: 1000, chunk_overlap: 200, pipeline: true },
      max_retries: 3,
      timeout: 300,
    },
  },
  [TaskType.embedding_generation]: {
    summary: 'Embed every chunk of the kb that has no embedding yet',
    value: { task_type: TaskType.embedding_generation, kb_id: 'kb_123456', payload: { batch_size: 64 } },
  },
  [TaskType.vector_storage]: {
    summary: 'Upsert vectors computed elsewhere',
    value: {
      task_type: TaskType.vector_storage,
      kb_id: 'kb_vectors_example',
      payload: {
        vectors: [
          { id: 'faq-1', values: [0.12, -0.03, 0.5, 0.27], metadata: { source: 'faq' } },
          { id: 'faq-2', values: [0.08, 0.41, -0.2, 0.33], metadata: { source: 'faq' } },
        ],
        model: 'external-4d',
      },
    },
  },
  [TaskType.knowledge_indexing]: {
    summary: "Rebuild the kb's search indexes",
    value: { task_type: TaskType.knowledge_indexing, kb_id: 'kb_123456', payload: {} },
  },
  [TaskType.batch_processing]: {
    summary: 'Process files as one batch',
    value: {
      task_type: TaskType.batch_processing,
      kb_id: 'kb_123456',
      payload: { file_paths: [SAMPLE_DOCUMENT_PATH], chunk_size: 800 },
    },
  },
  [TaskType.health_check]: {
    summary: 'Probe the dependencies three times',
    value: {
      task_type: TaskType.health_check,
      kb_id: 'kb_123456',
      priority: 'critical',
      payload: { checks: ['database', 'redis', 'queues'], samples: 3, interval_ms: 100 },
    },
  },
};

const BATCH_EXAMPLES: ExamplesObject = {
  mixed: {
    summary: 'A document and a health check',
    value: [TASK_REQUEST_EXAMPLES.document_processing.value, TASK_REQUEST_EXAMPLES.health_check.value],
  },
};

const BULK_EXAMPLES: ExamplesObject = {
  by_kb_and_type: {
    summary: 'Every health_check task of a kb',
    value: { kb_id: 'kb_123456', task_type: TaskType.health_check },
  },
};

function setExamples(operation: OperationObject | undefined, examples: ExamplesObject): void {
  const content = (operation?.requestBody as RequestBodyObject | undefined)?.content['application/json'];
  if (!content)
    throw new Error(
      `OpenAPI: ${operation?.operationId ?? 'an operation'} has no JSON request body to give examples to`,
    );
  content.examples = examples;
}

/** Puts the executable examples on the request bodies (Swagger UI pre-fills the first one). */
export function addRequestExamples(document: OpenAPIObject): void {
  setExamples(document.paths['/api/v1/tasks']?.post, TASK_REQUEST_EXAMPLES);
  setExamples(document.paths['/api/v1/tasks/batch']?.post, BATCH_EXAMPLES);
  setExamples(document.paths['/api/v1/tasks/bulk/cancel']?.post, BULK_EXAMPLES);
  setExamples(document.paths['/api/v1/tasks/bulk/retry']?.post, BULK_EXAMPLES);
}
