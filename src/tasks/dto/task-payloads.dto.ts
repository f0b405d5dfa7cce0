import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
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
import { IntField } from '../../common/decorators/validation.decorators';
import { HEALTH_COMPONENTS } from '../../queues/task-types';

export const MAX_CHUNK_SIZE = 100_000;
export const MAX_BATCH_ITEMS = 1000;
export const MAX_VECTORS = 10_000;
export const MAX_DIMENSION = 8192;

/** `health_check`: which components to probe, how often, how far apart. */
export class HealthCheckPayloadDto {
  @ApiPropertyOptional({ enum: HEALTH_COMPONENTS, isArray: true, description: 'Components to probe; all when omitted' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @IsIn(HEALTH_COMPONENTS as unknown as string[], { each: true, message: `each of $property must be one of: ${HEALTH_COMPONENTS.join(', ')}` })
  checks?: Array<(typeof HEALTH_COMPONENTS)[number]>;

  @IntField({ required: false, min: 1, max: 1000, default: 1, description: 'Probe rounds; latency min/avg/max is reported per component' })
  samples?: number;

  @IntField({ required: false, min: 0, max: 60000, default: 0, description: 'Pause between probe rounds in ms' })
  interval_ms?: number;
}

/** `document_processing`: a file inside the upload folder to extract, chunk and store. */
export class DocumentProcessingPayloadDto {
  @ApiProperty({ example: 'report.pdf', description: 'Path inside UPLOAD_DIR (relative, or absolute inside it); .txt .md .html .pdf .docx' })
  @IsString()
  @MinLength(1)
  @MaxLength(1024)
  file_path!: string;

  @IntField({ required: false, min: 50, max: MAX_CHUNK_SIZE, default: 1000, description: 'Maximum characters per chunk' })
  chunk_size?: number;

  @IntField({
    required: false,
    min: 0,
    max: MAX_CHUNK_SIZE - 1,
    default: 200,
    description: 'Characters shared by neighbouring chunks; must be smaller than chunk_size (default 200, at most chunk_size/5 when chunk_size is small)',
  })
  chunk_overlap?: number;

  @ApiPropertyOptional({ format: 'uuid', description: 'Reprocess this document (or create it under this id); by default the document is identified by kb_id and file_path' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'Also run embedding_generation → vector_storage → knowledge_indexing for this document' })
  @IsOptional()
  @IsBoolean()
  pipeline?: boolean;
}

/** `embedding_generation`: embed the chunks of a document, of given chunk ids, or of the whole kb. */
export class EmbeddingGenerationPayloadDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ type: [String], format: 'uuid', maxItems: MAX_VECTORS })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_VECTORS)
  @IsUUID('all', { each: true })
  chunk_ids?: string[];

  @ApiPropertyOptional({ description: 'Must name the configured model when given' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;

  @IntField({ required: false, min: 1, max: 2048, default: 64, description: 'Chunks per embedding request' })
  batch_size?: number;
}

export class VectorInputDto {
  @ApiPropertyOptional({ maxLength: 200, description: 'Vector id; defaults to chunk_id, else a hash of the values' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  id?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  chunk_id?: string;

  @ApiProperty({ type: [Number], minItems: 1, maxItems: MAX_DIMENSION })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_DIMENSION)
  @IsNumber({ allowNaN: false, allowInfinity: false }, { each: true, message: 'each value must be a finite number' })
  values!: number[];

  @ApiPropertyOptional({ type: 'object', additionalProperties: true })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}

/** `vector_storage`: upsert given vectors, or a document's chunk embeddings, into the kb's vector store. */
export class VectorStoragePayloadDto {
  @ApiPropertyOptional({ type: [VectorInputDto], maxItems: MAX_VECTORS })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_VECTORS)
  @ValidateNested({ each: true })
  @Type(() => VectorInputDto)
  vectors?: VectorInputDto[];

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;

  @ApiPropertyOptional({ description: 'Model that produced the vectors (stored with them)' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  model?: string;
}

/** `knowledge_indexing`: rebuild the kb's search indexes (or one document's part). */
export class KnowledgeIndexingPayloadDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID('all')
  document_id?: string;
}

/** `batch_processing`: child tasks given one by one, or one document_processing child per file. */
export class BatchProcessingPayloadDto {
  @ApiPropertyOptional({ type: 'array', items: { type: 'object' }, maxItems: MAX_BATCH_ITEMS, description: 'Task requests (same shape as POST /api/v1/tasks, kb_id defaults to the parent\'s)' })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_ITEMS)
  @IsObject({ each: true, message: 'each item must be a task object' })
  items?: Array<Record<string, unknown>>;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_BATCH_ITEMS })
  @IsOptional()
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(MAX_BATCH_ITEMS)
  @IsString({ each: true })
  file_paths?: string[];

  @IntField({ required: false, min: 50, max: MAX_CHUNK_SIZE, default: 1000 })
  chunk_size?: number;

  @IntField({ required: false, min: 0, max: MAX_CHUNK_SIZE - 1, default: 200 })
  chunk_overlap?: number;

  @ApiPropertyOptional({ description: 'Run the whole-document pipeline for every file' })
  @IsOptional()
  @IsBoolean()
  pipeline?: boolean;
}
