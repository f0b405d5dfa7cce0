import { applyDecorators } from '@nestjs/common';
import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath, OmitType } from '@nestjs/swagger';
import { plainToInstance, Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayMinSize,
  IsArray,
  IsBoolean,
  IsIn,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  MaxLength,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { IntField, StringField } from '../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../common/utils/id-patterns';
import { CreateTaskDto } from './create-task.dto';
import { HEALTH_COMPONENTS } from './task-types';

/**
 * The payload of each task type. These classes are the one statement of each shape
 * (task-type-registry.ts maps each type to its class and derives the TypeScript type
 * from it): the validator checks a payload against them, processors and pipeline services
 * receive the validated instance (only the keys declared here; any other key the caller sent
 * is stored and returned as sent, but never read), and Swagger documents them.
 */

export const MAX_CHUNK_SIZE = 100_000;
export const DEFAULT_CHUNK_SIZE = 1000;
export const DEFAULT_CHUNK_OVERLAP = 200;
export const MAX_BATCH_ITEMS = 1000;
export const MAX_VECTORS = 10_000;
export const MAX_DIMENSION = 8192;
/**
 * Numbers (vectors × dimension) one vector_storage task may carry: 1M numbers of up to ~25
 * JSON characters each stay well under TASK_BODY_LIMIT's default 64 MB, so every payload the
 * schema allows also fits the body limit (10,000 vectors of 100 dimensions, 651 of 1,536, or
 * 122 of 8,192). Larger sets go in several tasks: one request of a million numbers already
 * costs the API seconds of parsing and validation.
 */
export const MAX_VECTOR_VALUES = 1_000_000;
/** Texts one embedding_generation task embeds inline, and the characters of each (about 8k tokens). */
export const MAX_TEXTS = 1000;
export const MAX_TEXT_LENGTH = 32_000;
/**
 * Numbers (texts × dimension) an inline embedding_generation may return in its result; above
 * this, the caller must ask for `store: true`, since the result is kept in the task's row.
 */
export const MAX_INLINE_RESULT_VALUES = 131_072;
export const MAX_VECTOR_ID_LENGTH = 200;

/** The overlap used when none is given: 200, but never more than a fifth of a small chunk. */
export function defaultChunkOverlap(chunkSize: number): number {
  return Math.min(DEFAULT_CHUNK_OVERLAP, Math.floor(chunkSize / 5));
}

/** `health_check`: which components to probe, how often, how far apart. */
export class HealthCheckPayloadDto {
  @ApiPropertyOptional({ enum: HEALTH_COMPONENTS, isArray: true, description: 'Components to probe; all when omitted' })
  @Rules(
    IsOptional(),
    IsArray(),
    ArrayMinSize(1),
    IsIn(HEALTH_COMPONENTS, {
      each: true,
      message: `each of $property must be one of: ${HEALTH_COMPONENTS.join(', ')}`,
    }),
  )
  checks?: (typeof HEALTH_COMPONENTS)[number][];

  @IntField({
    required: false,
    min: 1,
    max: 1000,
    default: 1,
    description: 'Probe rounds; latency min/avg/max is reported per component',
  })
  samples?: number;

  @IntField({ required: false, min: 0, max: 60000, default: 0, description: 'Pause between probe rounds in ms' })
  interval_ms?: number;
}

/** `document_processing`: a file inside the upload folder to extract, chunk and store. */
export class DocumentProcessingPayloadDto {
  @ApiProperty({
    example: 'report.pdf',
    description: 'Path inside UPLOAD_DIR (relative, or absolute inside it); .txt .md .html .pdf .docx',
  })
  @Rules(IsString(), MinLength(1), MaxLength(1024))
  file_path!: string;

  @IntField({
    required: false,
    min: 50,
    max: MAX_CHUNK_SIZE,
    default: DEFAULT_CHUNK_SIZE,
    description: 'Maximum characters per chunk',
  })
  chunk_size?: number;

  @IntField({
    required: false,
    min: 0,
    max: MAX_CHUNK_SIZE - 1,
    default: DEFAULT_CHUNK_OVERLAP,
    description:
      'Characters shared by neighbouring chunks; must be smaller than chunk_size (default 200, at most chunk_size/5 when chunk_size is small)',
  })
  chunk_overlap?: number;

  @ApiPropertyOptional({
    format: 'uuid',
    description:
      'Reprocess this document (or create it under this id); by default the document is identified by kb_id and file_path',
  })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    description: 'Also run embedding_generation → vector_storage → knowledge_indexing for this document',
  })
  @IsOptional()
  @IsBoolean()
  pipeline?: boolean;
}

/** Parallel to a list of texts or vectors: the id each is stored under. */
/**
 * A property's rules in the order they are checked. class-validator checks a property's
 * decorators in the order they are registered, which for stacked decorators is bottom-up,
 * and reports only the first that fails: listed here outermost first (the type, the array's
 * size, then each element), `7` for a string list is "must be a string", not "too long".
 */
function Rules(...rules: PropertyDecorator[]): PropertyDecorator {
  return applyDecorators(...rules);
}

function ParallelIds(description: string) {
  return applyDecorators(
    ApiPropertyOptional({ type: [String], maxItems: MAX_VECTORS, description }),
    IsOptional(),
    IsArray(),
    IsString({ each: true, message: 'each of $property must be a string' }),
    MinLength(1, { each: true, message: 'each of $property must not be empty' }),
    MaxLength(MAX_VECTOR_ID_LENGTH, {
      each: true,
      message: `each of $property must be at most ${MAX_VECTOR_ID_LENGTH} characters`,
    }),
  );
}

/** Parallel to a list of texts or vectors: the metadata stored with each. */
function ParallelMetadatas(description: string) {
  return applyDecorators(
    ApiPropertyOptional({
      type: 'array',
      items: { type: 'object', additionalProperties: true },
      maxItems: MAX_VECTORS,
      description,
    }),
    IsOptional(),
    IsArray(),
    IsObject({ each: true, message: 'each of $property must be a JSON object' }),
  );
}

/**
 * `embedding_generation`: embed stored chunks (of a document, of given chunk ids, or of the
 * whole kb), or texts given inline (`texts`), with the configured embedding model.
 */
export class EmbeddingGenerationPayloadDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Embed the chunks of this document' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: MAX_VECTORS, description: 'Embed these chunks' })
  @Rules(IsOptional(), IsArray(), ArrayMinSize(1), ArrayMaxSize(MAX_VECTORS), IsUUID('all', { each: true }))
  chunk_ids?: string[];

  @ApiPropertyOptional({
    type: [String],
    minItems: 1,
    maxItems: MAX_TEXTS,
    example: ['What is a vector database?', 'Vectors are stored with their ids.'],
    description:
      `Embed these texts instead of stored chunks (1–${MAX_TEXTS} texts of 1–${MAX_TEXT_LENGTH} characters). ` +
      `The result holds the vectors, in order; with store: true they are upserted into the kb's vector store instead and the result says under which ids. ` +
      `Without store, texts × dimension may be at most ${MAX_INLINE_RESULT_VALUES}.`,
  })
  @Rules(
    IsOptional(),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(MAX_TEXTS),
    IsString({ each: true, message: 'each of $property must be a string' }),
    MinLength(1, { each: true, message: 'each of $property must not be empty' }),
    MaxLength(MAX_TEXT_LENGTH, {
      each: true,
      message: `each of $property must be at most ${MAX_TEXT_LENGTH} characters`,
    }),
  )
  texts?: string[];

  @ApiPropertyOptional({
    description: "With texts: upsert the vectors into the kb's vector store instead of returning them",
  })
  @IsOptional()
  @IsBoolean()
  store?: boolean;

  @ParallelIds(
    'With texts and store: the vector id of each text (same length as texts); default: a hash of model and text',
  )
  ids?: string[];

  @ParallelMetadatas(
    'With texts and store: the metadata stored with each vector (same length as texts); the text is stored as metadata.text unless the metadata has its own',
  )
  metadatas?: Record<string, unknown>[];

  @ApiPropertyOptional({ description: 'Must name the configured model when given' })
  @Rules(IsOptional(), IsString(), MaxLength(200))
  model?: string;

  @IntField({ required: false, min: 1, max: 2048, default: 64, description: 'Chunks per embedding request' })
  batch_size?: number;
}

/** One vector of `vector_storage` in object form. */
export class VectorInputDto {
  @ApiPropertyOptional({
    maxLength: MAX_VECTOR_ID_LENGTH,
    description: 'Vector id; defaults to chunk_id, else a hash of the values',
  })
  @Rules(IsOptional(), IsString(), MinLength(1), MaxLength(MAX_VECTOR_ID_LENGTH))
  id?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  chunk_id?: string;

  @ApiProperty({ type: [Number], minItems: 1, maxItems: MAX_DIMENSION })
  @Rules(
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(MAX_DIMENSION),
    IsNumber({ allowNaN: false, allowInfinity: false }, { each: true, message: 'each value must be a finite number' }),
  )
  values!: number[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/**
 * Vectors arrive as objects (`{id, values, metadata}`) or, as vector-database clients send
 * them, as plain number arrays (with parallel `ids` / `metadatas`). Both become
 * VectorInputDto, so the rules on `values` are stated once; anything else is left for the
 * nested validation to refuse.
 */
function toVectorInputs({ value }: { value: unknown }): unknown {
  if (!Array.isArray(value)) return value;
  return value.map((v: unknown) =>
    Array.isArray(v)
      ? Object.assign(new VectorInputDto(), { values: v })
      : v !== null && typeof v === 'object'
        ? plainToInstance(VectorInputDto, v)
        : v,
  );
}

/** `vector_storage`: upsert given vectors, or a document's chunk embeddings, into the kb's vector store. */
@ApiExtraModels(VectorInputDto)
export class VectorStoragePayloadDto {
  @ApiPropertyOptional({
    // An explicit non-array type: left to inference, the Swagger CLI plugin of `nest build`
    // types the property as VectorInputDto[] and Nest then nests the oneOf inside `items`
    // (an array of arrays of vectors), so `npm start` served another schema than the tests.
    type: Object,
    oneOf: [
      { type: 'array', items: { $ref: getSchemaPath(VectorInputDto) }, minItems: 1, maxItems: MAX_VECTORS },
      {
        type: 'array',
        items: { type: 'array', items: { type: 'number' }, minItems: 1, maxItems: MAX_DIMENSION },
        minItems: 1,
        maxItems: MAX_VECTORS,
      },
    ],
    example: [
      [0.12, -0.03, 0.88],
      [0.05, 0.41, -0.27],
    ],
    description: `Vectors to upsert, all of one dimension: objects, or plain number arrays with parallel ids / metadatas. At most ${MAX_VECTOR_VALUES} numbers in all (vectors × dimension), so the body fits the create routes' 64 MB limit.`,
  })
  @Rules(IsOptional(), IsArray(), ArrayMinSize(1), ArrayMaxSize(MAX_VECTORS))
  @Transform(toVectorInputs, { toClassOnly: true })
  @ValidateNested({ each: true })
  vectors?: VectorInputDto[];

  @ParallelIds('With vectors as number arrays: the id of each (same length as vectors); default: a hash of the values')
  ids?: string[];

  @ParallelMetadatas('With vectors as number arrays: the metadata of each (same length as vectors)')
  metadatas?: Record<string, unknown>[];

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ description: 'Model that produced the vectors (stored with them)' })
  @Rules(IsOptional(), IsString(), MaxLength(200))
  model?: string;
}

/** `knowledge_indexing`: rebuild the kb's search indexes, or the part of one or several documents. */
export class KnowledgeIndexingPayloadDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'Index this document only' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({
    type: [String],
    format: 'uuid',
    minItems: 1,
    maxItems: MAX_BATCH_ITEMS,
    description: 'Index these documents only (instead of document_id)',
  })
  @Rules(IsOptional(), IsArray(), ArrayMinSize(1), ArrayMaxSize(MAX_BATCH_ITEMS), IsUUID('all', { each: true }))
  document_ids?: string[];
}

/**
 * One child of `batch_processing`: a task request as for `POST /api/v1/tasks`. Its kb_id
 * defaults to the batch's (and must equal it); callbacks belong to the batch, not to its children.
 */
export class BatchTaskItemDto extends OmitType(CreateTaskDto, ['kb_id', 'callback_url', 'callback_secret'] as const) {
  @StringField({
    required: false,
    maxLength: 128,
    pattern: KB_ID_PATTERN,
    patternMessage: '$property may hold letters, digits, _ . : - and must start with a letter or digit',
    description: "The batch's kb_id (the default); another kb is refused",
  })
  kb_id?: string;
}

/** `batch_processing`: child tasks given one by one, or one document_processing child per file. */
export class BatchProcessingPayloadDto {
  @ApiPropertyOptional({
    type: [BatchTaskItemDto],
    minItems: 1,
    maxItems: MAX_BATCH_ITEMS,
    description:
      "Task requests, each validated as for POST /api/v1/tasks (kb_id defaults to the batch's; no batch_processing inside a batch)",
  })
  @Rules(
    IsOptional(),
    IsArray(),
    ArrayMinSize(1),
    ArrayMaxSize(MAX_BATCH_ITEMS),
    IsObject({ each: true, message: 'each item must be a task object' }),
  )
  // Checked field by field (strictly, as a request) by the payload validator, which names each item's paths.
  @Type(() => BatchTaskItemDto)
  items?: BatchTaskItemDto[];

  @ApiPropertyOptional({ type: [String], maxItems: MAX_BATCH_ITEMS })
  @Rules(IsOptional(), IsArray(), ArrayMinSize(1), ArrayMaxSize(MAX_BATCH_ITEMS), IsString({ each: true }))
  file_paths?: string[];

  @IntField({ required: false, min: 50, max: MAX_CHUNK_SIZE, default: DEFAULT_CHUNK_SIZE })
  chunk_size?: number;

  @IntField({ required: false, min: 0, max: MAX_CHUNK_SIZE - 1, default: DEFAULT_CHUNK_OVERLAP })
  chunk_overlap?: number;

  @ApiPropertyOptional({ description: 'Run the whole-document pipeline for every file' })
  @IsOptional()
  @IsBoolean()
  pipeline?: boolean;
}
