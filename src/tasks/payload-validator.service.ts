import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import { flattenValidationErrors } from '../common/pipes/validation.pipe';
import type { AllConfig } from '../config/app.config';
import { DEFAULT_CHUNK_SIZE, defaultChunkOverlap } from '../kbs/kb-payloads';
import { FileAccessError, UploadFolder } from '../pipeline/file-confinement';
import { detectFormat, UnsupportedFormatError } from '../pipeline/text-extractor';
import { PrismaService } from '../prisma/prisma.service';
import { TaskType } from '../queues/task-types';
import { PermanentTaskError } from '../workers/task-errors';
import { CreateTaskDto } from './dto/create-task.dto';
import {
  BatchProcessingPayloadDto,
  DocumentProcessingPayloadDto,
  EmbeddingGenerationPayloadDto,
  HealthCheckPayloadDto,
  KnowledgeIndexingPayloadDto,
  VectorStoragePayloadDto,
} from './dto/task-payloads.dto';

/** Field path → messages, the same shape as the validation pipe's `details.fields`. */
export type FieldErrors = Record<string, string[]>;

export const PAYLOAD_DTOS: Record<TaskType, ClassConstructor<object>> = {
  [TaskType.health_check]: HealthCheckPayloadDto,
  [TaskType.document_processing]: DocumentProcessingPayloadDto,
  [TaskType.embedding_generation]: EmbeddingGenerationPayloadDto,
  [TaskType.vector_storage]: VectorStoragePayloadDto,
  [TaskType.knowledge_indexing]: KnowledgeIndexingPayloadDto,
  [TaskType.batch_processing]: BatchProcessingPayloadDto,
};

/**
 * Checks a task's payload against its type before anything is stored, so a payload its
 * processor would reject is a 400 naming the field instead of a failed task later: shape
 * (the payload DTOs, unknown fields refused), cross-field rules (overlap < chunk size, one
 * source of vectors), file confinement, and a kb's vector dimension. Processors run the
 * same check again, since the file system or the kb may have changed since.
 */
@Injectable()
export class PayloadValidatorService {
  readonly uploads: UploadFolder;

  constructor(
    private readonly prisma: PrismaService,
    config: ConfigService<AllConfig, true>,
  ) {
    const pipeline = config.getOrThrow('pipeline', { infer: true });
    this.uploads = new UploadFolder({ root: pipeline.uploadDir, perKb: pipeline.uploadPerKb, maxFileBytes: pipeline.maxFileBytes });
  }

  /** The processor-side check: a stored payload that is (no longer) valid fails its task at once. */
  async assertValid(taskType: TaskType, kbId: string, payload: unknown): Promise<void> {
    const errors =
      payload !== null && typeof payload === 'object' && !Array.isArray(payload)
        ? await this.validate(taskType, kbId, payload as Record<string, unknown>)
        : { payload: ['payload must be a JSON object'] };
    const messages = Object.entries(errors).map(([field, list]) => `${field}: ${list.join(', ')}`);
    if (messages.length > 0) throw new PermanentTaskError(`Invalid payload: ${messages.join('; ')}`);
  }

  /** Every problem of the payload, keyed by field path under `prefix` (e.g. `payload`, `[3].payload`). */
  async validate(taskType: TaskType, kbId: string, payload: Record<string, unknown>, prefix = 'payload'): Promise<FieldErrors> {
    const dto = plainToInstance(PAYLOAD_DTOS[taskType], payload);
    const errors = flattenValidationErrors(
      validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }),
      prefix,
    );
    if (Object.keys(errors).length > 0) return errors;
    const add = (field: string, message: string) => (errors[field ? `${prefix}.${field}` : prefix] ??= []).push(message);
    switch (taskType) {
      case TaskType.document_processing: {
        const p = payload as unknown as DocumentProcessingPayloadDto;
        this.checkChunking(p.chunk_size, p.chunk_overlap, add);
        this.checkPath(kbId, p.file_path, 'file_path', add);
        break;
      }
      case TaskType.embedding_generation: {
        const p = payload as unknown as EmbeddingGenerationPayloadDto;
        if (p.document_id && p.chunk_ids) add('', 'give document_id or chunk_ids, not both');
        break;
      }
      case TaskType.vector_storage:
        await this.checkVectors(payload as unknown as VectorStoragePayloadDto, kbId, add);
        break;
      case TaskType.batch_processing:
        await this.checkBatch(payload as unknown as BatchProcessingPayloadDto, kbId, prefix, errors, add);
        break;
      default:
        break;
    }
    return errors;
  }

  private checkChunking(size: number | undefined, overlap: number | undefined, add: (field: string, message: string) => void): void {
    const chunkSize = size ?? DEFAULT_CHUNK_SIZE;
    const chunkOverlap = overlap ?? defaultChunkOverlap(chunkSize);
    if (chunkOverlap >= chunkSize) add('chunk_overlap', `chunk_overlap (${chunkOverlap}) must be smaller than chunk_size (${chunkSize})`);
  }

  /** A document path must stay inside the kb's part of the upload folder and name a format the pipeline reads. */
  private checkPath(kbId: string, filePath: string, field: string, add: (field: string, message: string) => void): void {
    try {
      this.uploads.forKb(kbId).validate(filePath);
      detectFormat(filePath);
    } catch (error) {
      if (!(error instanceof FileAccessError) && !(error instanceof UnsupportedFormatError)) throw error;
      add(field, error.message);
    }
  }

  private async checkVectors(p: VectorStoragePayloadDto, kbId: string, add: (field: string, message: string) => void): Promise<void> {
    if (!p.vectors === !p.document_id) {
      add('', 'give either vectors or document_id');
      return;
    }
    if (!p.vectors) return;
    const dimension = p.vectors[0].values.length;
    const odd = p.vectors.findIndex((v) => v.values.length !== dimension);
    if (odd >= 0) add(`vectors[${odd}].values`, `every vector must have the same dimension (${dimension})`);
    const kb = await this.prisma.knowledgeBase.findUnique({ where: { kbId }, select: { dimension: true } });
    if (kb?.dimension && kb.dimension !== dimension) {
      add('vectors', `knowledge base ${kbId} stores ${kb.dimension}-dimensional vectors; got ${dimension}`);
    }
  }

  private async checkBatch(
    p: BatchProcessingPayloadDto,
    kbId: string,
    prefix: string,
    errors: FieldErrors,
    add: (field: string, message: string) => void,
  ): Promise<void> {
    if (!p.items === !p.file_paths) {
      add('', 'give either items or file_paths');
      return;
    }
    if (p.file_paths) {
      this.checkChunking(p.chunk_size, p.chunk_overlap, add);
      p.file_paths.forEach((path, i) => this.checkPath(kbId, path, `file_paths[${i}]`, add));
      return;
    }
    for (const [i, item] of (p.items ?? []).entries()) {
      const itemPrefix = `${prefix}.items[${i}]`;
      const dto = plainToInstance(CreateTaskDto, { kb_id: kbId, ...item });
      const itemErrors = flattenValidationErrors(
        validateSync(dto, { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true }),
        itemPrefix,
      );
      if (dto.task_type === TaskType.batch_processing) itemErrors[`${itemPrefix}.task_type`] = ['a batch cannot contain batch_processing tasks'];
      if (dto.kb_id !== kbId) itemErrors[`${itemPrefix}.kb_id`] = [`child tasks belong to the batch's knowledge base (${kbId})`];
      Object.assign(errors, itemErrors);
      if (Object.keys(itemErrors).length === 0) {
        Object.assign(errors, await this.validate(dto.task_type, dto.kb_id, dto.payload, `${itemPrefix}.payload`));
      }
    }
  }
}
