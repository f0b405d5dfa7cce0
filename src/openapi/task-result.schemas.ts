import type { SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { TaskType } from '../task-types/task-types';

/**
 * What each task type leaves in `result`, as the processors return it (src/kbs/*.service.ts
 * result interfaces, workers/processors, task-family.service.ts for parents). Plain schema
 * objects, not DTO classes: nothing validates or instantiates a result, they are written
 * by the service and only described here for clients.
 */
const int = (description?: string): SchemaObject => ({
  type: 'integer',
  minimum: 0,
  ...(description ? { description } : {}),
});
const uuid = (description?: string): SchemaObject => ({
  type: 'string',
  format: 'uuid',
  ...(description ? { description } : {}),
});
const nullableString = (description: string): SchemaObject => ({ type: 'string', nullable: true, description });
const ref = (name: string): SchemaObject => ({ $ref: `#/components/schemas/${name}` }) as SchemaObject;

const componentHealth: SchemaObject = {
  type: 'object',
  description: 'The last probe of the component; healthy probes add what they measured (e.g. Redis `keys`, the queues)',
  required: ['status'],
  additionalProperties: true,
  properties: {
    status: { type: 'string', enum: ['healthy', 'unhealthy'] },
    latency_ms: { type: 'number', minimum: 0 },
    error: { type: 'string', description: 'Why the probe failed' },
  },
};

const componentSummary: SchemaObject = {
  type: 'object',
  required: ['status', 'samples', 'failures', 'latency_ms', 'last'],
  properties: {
    status: { type: 'string', enum: ['healthy', 'unhealthy'], description: 'unhealthy when any probe round failed' },
    samples: int('Probe rounds run'),
    failures: int('Rounds that failed'),
    latency_ms: {
      type: 'object',
      nullable: true,
      description: 'Over the successful rounds; null when none succeeded',
      required: ['min', 'avg', 'max'],
      properties: { min: { type: 'number' }, avg: { type: 'number' }, max: { type: 'number' } },
    },
    last: ref('HealthCheckComponentProbe'),
  },
};

const ingestion: Record<string, SchemaObject> = {
  document_id: uuid('The stored document (reprocessing the same kb_id and file_path updates it)'),
  file_path: { type: 'string' },
  format: { type: 'string', example: 'pdf' },
  characters: int('Characters of extracted text'),
  pages: { type: 'integer', minimum: 0, nullable: true, description: 'PDF pages; null for other formats' },
  chunk_count: int(),
  content_hash: { type: 'string', description: 'SHA-256 of the file, hex' },
  unchanged: {
    type: 'boolean',
    description: 'True when the content and chunking were unchanged and nothing was rewritten',
  },
};

/** Schemas added to components: the per-type results and the pieces they share. */
export const RESULT_COMPONENTS: Record<string, SchemaObject> = {
  HealthCheckComponentProbe: componentHealth,
  HealthCheckComponentSummary: componentSummary,
  HealthCheckResult: {
    type: 'object',
    required: ['status', 'checks', 'checked_at'],
    properties: {
      status: {
        type: 'string',
        enum: ['healthy', 'unhealthy'],
        description: 'healthy when every probed component was',
      },
      checks: {
        type: 'object',
        description: 'One entry per probed component (payload.checks, or all)',
        properties: {
          database: ref('HealthCheckComponentSummary'),
          redis: ref('HealthCheckComponentSummary'),
          queues: ref('HealthCheckComponentSummary'),
        },
      },
      checked_at: { type: 'string', format: 'date-time' },
    },
  },
  DocumentProcessingResult: {
    type: 'object',
    required: Object.keys(ingestion),
    properties: {
      ...ingestion,
      pipeline: {
        type: 'object',
        description:
          'With payload.pipeline: each finished stage (embedding_generation, vector_storage, knowledge_indexing) with its task and result',
        // One property per stage, each with its own result type, so a client reads
        // pipeline.vector_storage.result.stored typed instead of an unknown map.
        properties: Object.fromEntries(
          (
            [
              ['embedding_generation', 'EmbeddingGenerationChunksResult'],
              ['vector_storage', 'VectorStorageResult'],
              ['knowledge_indexing', 'KnowledgeIndexingResult'],
            ] as const
          ).map(([stage, result]) => [
            stage,
            { type: 'object', required: ['task_id', 'result'], properties: { task_id: uuid(), result: ref(result) } },
          ]),
        ),
        additionalProperties: false,
      },
    },
  },
  EmbeddingGenerationResult: {
    description:
      'Stored chunks embedded (payload with document_id, chunk_ids or neither), or texts given inline (payload with texts)',
    oneOf: [
      { $ref: '#/components/schemas/EmbeddingGenerationChunksResult' },
      { $ref: '#/components/schemas/EmbeddingGenerationTextsResult' },
    ],
  },
  EmbeddingGenerationChunksResult: {
    type: 'object',
    required: ['model', 'dimension', 'chunks', 'embedded', 'already_embedded', 'document_id'],
    properties: {
      model: { type: 'string', description: 'The configured embedding model' },
      dimension: { type: 'integer', minimum: 1 },
      chunks: int('Chunks in scope'),
      embedded: int('Chunks embedded by this task'),
      already_embedded: int('Chunks that already had an embedding for this model'),
      document_id: { ...uuid(), nullable: true },
    },
  },
  EmbeddingGenerationTextsResult: {
    type: 'object',
    required: ['model', 'dimension', 'embedded', 'vectors', 'stored'],
    properties: {
      model: { type: 'string', description: 'The configured embedding model' },
      dimension: { type: 'integer', minimum: 1 },
      embedded: int('Texts embedded'),
      vectors: {
        type: 'array',
        nullable: true,
        items: { type: 'array', items: { type: 'number' } },
        description: 'The vectors, in the order of `texts`; null when they were stored instead (`store: true`)',
      },
      stored: {
        type: 'object',
        nullable: true,
        description:
          "With `store: true`: where the vectors are — the kb's vector store, under these ids (in the order of `texts`)",
        required: ['kb_id', 'backend', 'ids'],
        properties: {
          kb_id: { type: 'string' },
          backend: { type: 'string', enum: ['pgvector', 'float_array'] },
          ids: { type: 'array', items: { type: 'string' } },
        },
      },
    },
  },
  VectorStorageResult: {
    type: 'object',
    required: ['stored', 'dimension', 'model', 'document_id', 'backend'],
    properties: {
      stored: int('Vectors upserted'),
      dimension: { type: 'integer', minimum: 1 },
      model: nullableString('Model that produced the vectors, when known'),
      document_id: { ...uuid(), nullable: true },
      backend: { type: 'string', enum: ['pgvector', 'float_array'] },
    },
  },
  KnowledgeIndexingResult: {
    type: 'object',
    required: [
      'documents',
      'chunks',
      'vectors',
      'fulltext_indexed',
      'fulltext_config',
      'vector_index',
      'vector_index_name',
      'vector_index_action',
      'vectors_synced',
      'document_id',
      'document_ids',
    ],
    properties: {
      documents: int(),
      chunks: int(),
      vectors: int(),
      fulltext_indexed: int('Chunks whose full-text vector was recomputed'),
      fulltext_config: { type: 'string', example: 'simple' },
      vector_index: { type: 'string', example: 'pgvector (hnsw_cosine)', description: '`<backend> (<search>)`' },
      vector_index_name: nullableString("The kb's HNSW index (pgvector); null when searches read every vector"),
      vector_index_action: { type: 'string', enum: ['created', 'rebuilt', 'kept', 'none'] },
      vectors_synced: int('Vectors whose pgvector column was refreshed from their float array'),
      document_id: { ...uuid(), nullable: true },
      document_ids: {
        type: 'array',
        items: uuid(),
        nullable: true,
        description: 'The documents indexed when the payload named several',
      },
    },
  },
  BatchChildrenOutcome: {
    type: 'object',
    required: ['completed', 'failed', 'cancelled'],
    properties: {
      completed: { type: 'array', items: uuid() },
      failed: {
        type: 'array',
        items: {
          type: 'object',
          required: ['id', 'error_message'],
          properties: { id: uuid(), error_message: { type: 'string', nullable: true } },
        },
      },
      cancelled: { type: 'array', items: uuid() },
    },
  },
  BatchProcessingResult: {
    type: 'object',
    description:
      "While the children run: `{ children: <count> }`; once all have finished, the totals and each child's id by outcome",
    required: ['children'],
    properties: {
      total: int(),
      completed: int(),
      failed: int(),
      cancelled: int(),
      children: { oneOf: [int('Children started (while they run)'), ref('BatchChildrenOutcome')] },
    },
  },
};

/** The result schema of each task type. */
export const RESULT_SCHEMA: Record<TaskType, string> = {
  [TaskType.health_check]: 'HealthCheckResult',
  [TaskType.document_processing]: 'DocumentProcessingResult',
  [TaskType.embedding_generation]: 'EmbeddingGenerationResult',
  [TaskType.vector_storage]: 'VectorStorageResult',
  [TaskType.knowledge_indexing]: 'KnowledgeIndexingResult',
  [TaskType.batch_processing]: 'BatchProcessingResult',
};
