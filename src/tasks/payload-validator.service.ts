import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ClassConstructor, plainToInstance } from 'class-transformer';
import { validateSync, ValidatorOptions } from 'class-validator';
import { PermanentTaskError } from '../common/errors/task-errors';
import { flattenValidationErrors } from '../common/errors/validation-errors';
import { stripPrototypeKeys } from '../common/utils/prototype-keys';
import type { AllConfig } from '../config/app.config';
import { KnowledgeBaseRepository } from '../kbs/knowledge-base.repository';
import { FileAccessError, UploadFolder } from '../pipeline/file-confinement';
import { detectFormat, UnsupportedFormatError } from '../pipeline/text-extractor';
import { CreateTaskDto } from '../task-types/create-task.dto';
import {
  BatchProcessingPayloadDto,
  BatchTaskItemDto,
  DEFAULT_CHUNK_SIZE,
  defaultChunkOverlap,
  DocumentProcessingPayloadDto,
  EmbeddingGenerationPayloadDto,
  KnowledgeIndexingPayloadDto,
  MAX_INLINE_RESULT_VALUES,
  MAX_VECTOR_VALUES,
  VectorStoragePayloadDto,
} from '../task-types/task-payloads.dto';
import { payloadDtoOf, PayloadOf } from '../task-types/task-type-registry';
import { TASK_TYPES, TaskType } from '../task-types/task-types';
import { WebhookUrlPolicy } from '../webhooks/webhook-url-policy.service';

/** Field path → messages, the same shape as the validation pipe's `details.fields`. */
export type FieldErrors = Record<string, string[]>;

/** A request's own fields are the service's: an unknown one is a typo to report. */
const REQUEST_RULES: ValidatorOptions = { whitelist: true, forbidNonWhitelisted: true, stopAtFirstError: true };
/**
 * A payload is the caller's data: keys no processor reads are neither checked nor refused
 * (the stored payload keeps them as sent); the validated instance, which is what processors
 * get, holds only the declared keys.
 */
const PAYLOAD_RULES: ValidatorOptions = { whitelist: true, forbidNonWhitelisted: false, stopAtFirstError: true };

type AddError = (field: string, message: string) => void;

/** A checked request (or payload) and its problems; `dto` is usable when `fields` is empty, and null when the body was no object. */
export interface CheckedRequest<T> {
  dto: T | null;
  fields: FieldErrors;
}

/**
 * Checks task requests and their payloads before anything is stored, so everything a
 * processor would reject is a 400 naming each bad field, all of them in one answer: the
 * request's own fields (strict), the payload's declared keys (shape, then cross-field rules
 * such as overlap < chunk size or one source of vectors, file confinement, and the kb's
 * vector dimension), the callback URL, and for a batch every item's paths. Processors run the
 * payload check again (`parse`), since the file system or the kb may have changed since.
 */
@Injectable()
export class PayloadValidatorService {
  readonly uploads: UploadFolder;
  private readonly embeddingDimension: number;

  constructor(
    private readonly knowledgeBases: KnowledgeBaseRepository,
    private readonly callbacks: WebhookUrlPolicy,
    config: ConfigService<AllConfig, true>,
  ) {
    const pipeline = config.getOrThrow('pipeline', { infer: true });
    this.uploads = new UploadFolder({
      root: pipeline.uploadDir,
      perKb: pipeline.uploadPerKb,
      maxFileBytes: pipeline.maxFileBytes,
    });
    this.embeddingDimension = pipeline.embedding.dimension;
  }

  /**
   * Every problem of one task request (a JSON body, or a batch item under `prefix` such as
   * `[3]`): the payload is checked whenever the task type is known, whatever else is wrong.
   */
  async checkRequest(body: unknown, prefix = ''): Promise<CheckedRequest<CreateTaskDto>> {
    return this.check(CreateTaskDto, body, prefix, null);
  }

  /** The processor-side check: the typed view of a stored payload, or a permanent failure naming every bad field. */
  async parse<T extends TaskType>(taskType: T, kbId: string, payload: unknown): Promise<PayloadOf<T>> {
    const checked = isJsonObject(payload) ? await this.checkPayload(taskType, kbId, payload, 'payload') : null;
    const fields = checked?.fields ?? { payload: ['payload must be a JSON object'] };
    const messages = Object.entries(fields).map(([field, list]) => `${field}: ${list.join(', ')}`);
    if (!checked || messages.length > 0) throw new PermanentTaskError(`Invalid payload: ${messages.join('; ')}`);
    return checked.dto;
  }

  /**
   * `batch`: set for a batch_processing item, whose kb is the batch's (null when the batch's
   * kb_id is itself invalid). The dto's payload is the caller's object as sent.
   */
  private async check<T extends CreateTaskDto | BatchTaskItemDto>(
    type: ClassConstructor<T>,
    body: unknown,
    prefix: string,
    batch: { kbId: string | null } | null,
  ): Promise<CheckedRequest<T>> {
    const path = (field: string) => (prefix ? `${prefix}.${field}` : field);
    if (!isJsonObject(body))
      return { dto: null, fields: { [prefix || 'body']: ['must be a JSON object (a task request)'] } };
    stripPrototypeKeys(body);
    const dto = plainToInstance(type, body);
    const fields = flattenValidationErrors(validateSync(dto, REQUEST_RULES), prefix);
    if (batch) {
      if (dto.task_type === TaskType.batch_processing)
        (fields[path('task_type')] ??= []).push('a batch cannot contain batch_processing tasks');
      if (batch.kbId !== null && dto.kb_id !== undefined && dto.kb_id !== batch.kbId) {
        (fields[path('kb_id')] ??= []).push(`child tasks belong to the batch's knowledge base (${batch.kbId})`);
      }
    }
    const kbId = batch ? batch.kbId : fields[path('kb_id')] ? null : (dto.kb_id ?? null);
    if (TASK_TYPES.includes(dto.task_type) && !fields[path('payload')]) {
      const payload = await this.checkPayload(
        dto.task_type,
        kbId,
        body.payload as Record<string, unknown>,
        path('payload'),
      );
      Object.assign(fields, payload.fields);
    }
    if (dto instanceof CreateTaskDto && dto.callback_url !== undefined && !fields[path('callback_url')]) {
      const refusal = await this.callbacks.refusal(dto.callback_url);
      if (refusal) fields[path('callback_url')] = [refusal];
    }
    // The stored payload is the caller's object, not class-transformer's copy of it.
    dto.payload = body.payload as Record<string, unknown>;
    return { dto, fields };
  }

  /** The payload's problems under `prefix`, and its validated instance. `kbId` null: the kb is unknown, skip kb checks. */
  private async checkPayload<T extends TaskType>(
    taskType: T,
    kbId: string | null,
    payload: Record<string, unknown>,
    prefix: string,
  ): Promise<{ dto: PayloadOf<T>; fields: FieldErrors }> {
    stripPrototypeKeys(payload);
    const dto = plainToInstance(payloadDtoOf(taskType), payload);
    const fields = flattenValidationErrors(validateSync(dto, PAYLOAD_RULES), prefix);
    const add: AddError = (field, message) => (fields[field ? `${prefix}.${field}` : prefix] ??= []).push(message);
    /** Cross-field rules read only fields that passed their own checks; the others are already reported. */
    const valid = (...names: string[]) =>
      !Object.keys(fields).some((key) =>
        names.some(
          (name) =>
            key === `${prefix}.${name}` || key.startsWith(`${prefix}.${name}[`) || key.startsWith(`${prefix}.${name}.`),
        ),
      );
    switch (taskType) {
      case TaskType.document_processing: {
        const p = dto as DocumentProcessingPayloadDto;
        if (valid('chunk_size', 'chunk_overlap')) this.checkChunking(p.chunk_size, p.chunk_overlap, add);
        if (valid('file_path')) this.checkPath(kbId, p.file_path, 'file_path', add);
        break;
      }
      case TaskType.embedding_generation:
        await this.checkEmbedding(dto as EmbeddingGenerationPayloadDto, kbId, valid, add);
        break;
      case TaskType.vector_storage:
        await this.checkVectors(dto as VectorStoragePayloadDto, payload, kbId, prefix, fields, valid, add);
        break;
      case TaskType.knowledge_indexing: {
        const p = dto as KnowledgeIndexingPayloadDto;
        if (p.document_id !== undefined && p.document_ids !== undefined)
          add('', 'give document_id or document_ids, not both');
        break;
      }
      case TaskType.batch_processing:
        if (valid('items', 'file_paths', 'chunk_size', 'chunk_overlap')) {
          await this.checkBatch(dto as BatchProcessingPayloadDto, payload, kbId, prefix, fields, add);
        }
        break;
      default:
        break;
    }
    return { dto, fields };
  }

  private checkChunking(size: number | undefined, overlap: number | undefined, add: AddError): void {
    const chunkSize = size ?? DEFAULT_CHUNK_SIZE;
    const chunkOverlap = overlap ?? defaultChunkOverlap(chunkSize);
    if (chunkOverlap >= chunkSize)
      add('chunk_overlap', `chunk_overlap (${chunkOverlap}) must be smaller than chunk_size (${chunkSize})`);
  }

  /**
   * A document path must stay inside the kb's part of the upload folder and name a format the
   * pipeline reads. With per-kb folders and no valid kb (already reported) only the format is checked.
   */
  private checkPath(kbId: string | null, filePath: string, field: string, add: AddError): void {
    try {
      if (kbId !== null || !this.uploads.perKb) this.uploads.forKb(kbId ?? '').validate(filePath);
      detectFormat(filePath);
    } catch (error) {
      if (!(error instanceof FileAccessError) && !(error instanceof UnsupportedFormatError)) throw error;
      add(field, error.message);
    }
  }

  private async checkEmbedding(
    p: EmbeddingGenerationPayloadDto,
    kbId: string | null,
    valid: (...names: string[]) => boolean,
    add: AddError,
  ): Promise<void> {
    const sources = (['document_id', 'chunk_ids', 'texts'] as const).filter((key) => p[key] !== undefined);
    if (sources.length > 1) add('', `give one of document_id, chunk_ids or texts, not ${sources.join(' and ')}`);
    if (p.texts === undefined) {
      for (const key of ['store', 'ids', 'metadatas'] as const)
        if (p[key] !== undefined) add(key, `${key} applies to texts only`);
      return;
    }
    // A store that is not a boolean is reported as such; the rules that depend on it would
    // only add errors about a choice the caller has not validly made (a kb dimension, ids).
    const storeValid = valid('store');
    for (const key of ['ids', 'metadatas'] as const) {
      const list = p[key];
      if (list === undefined || !storeValid) continue;
      if (!p.store) add(key, `${key} are stored with the vectors: set store: true`);
      else if (list.length !== p.texts.length)
        add(key, `${key} must have one entry per text (${p.texts.length}); got ${list.length}`);
    }
    if (p.ids && valid('ids')) checkUnique(p.ids, (i) => `ids[${i}]`, add);
    const dimension = this.embeddingDimension;
    if (storeValid && !p.store && valid('texts') && p.texts.length * dimension > MAX_INLINE_RESULT_VALUES) {
      add(
        'texts',
        `at most ${Math.floor(MAX_INLINE_RESULT_VALUES / dimension)} texts can be returned inline as ${dimension}-dimensional vectors; set store: true to store them in the knowledge base instead`,
      );
    }
    if (storeValid && p.store && kbId !== null) await this.checkKbDimension(kbId, dimension, 'texts', add);
  }

  /**
   * Vectors come as objects or as number arrays with parallel ids / metadatas; paths name
   * what the caller sent (`vectors[2]` for an array, `vectors[2].values` for an object).
   */
  private async checkVectors(
    p: VectorStoragePayloadDto,
    raw: Record<string, unknown>,
    kbId: string | null,
    prefix: string,
    fields: FieldErrors,
    valid: (...names: string[]) => boolean,
    add: AddError,
  ): Promise<void> {
    const rawVectors = Array.isArray(raw.vectors) ? (raw.vectors as unknown[]) : [];
    const arrays = rawVectors.length > 0 && Array.isArray(rawVectors[0]);
    if (arrays) renameArrayVectorPaths(fields, prefix, rawVectors);
    if ((p.vectors === undefined) === (p.document_id === undefined)) {
      add('', 'give either vectors or document_id');
      return;
    }
    if (p.vectors === undefined) {
      for (const key of ['ids', 'metadatas'] as const)
        if (p[key] !== undefined) add(key, `${key} applies to vectors only`);
      return;
    }
    const otherForm = rawVectors.findIndex((v) => Array.isArray(v) !== arrays);
    if (otherForm >= 0) {
      add(
        `vectors[${otherForm}]`,
        `every vector must have the form of vectors[0] (${arrays ? 'a number array' : 'an object'})`,
      );
      return;
    }
    // A store that is not a boolean is reported as such; the rules that depend on it would
    // only add errors about a choice the caller has not validly made (a kb dimension, ids).
    const storeValid = valid('store');
    for (const key of ['ids', 'metadatas'] as const) {
      const list = p[key];
      if (list === undefined || !storeValid) continue;
      if (!arrays)
        add(
          key,
          `${key} goes with vectors given as number arrays; give each vector object its ${key === 'ids' ? 'id' : 'metadata'}`,
        );
      else if (list.length !== p.vectors.length)
        add(key, `${key} must have one entry per vector (${p.vectors.length}); got ${list.length}`);
    }
    if (p.ids && valid('ids')) checkUnique(p.ids, (i) => `ids[${i}]`, add);
    if (!valid('vectors')) return;
    if (!arrays)
      checkUnique(
        p.vectors.map((v) => v.id),
        (i) => `vectors[${i}].id`,
        add,
      );
    const dimension = p.vectors[0].values.length;
    const odd = p.vectors.findIndex((v) => v.values.length !== dimension);
    if (odd >= 0)
      add(
        arrays ? `vectors[${odd}]` : `vectors[${odd}].values`,
        `every vector must have the same dimension (${dimension})`,
      );
    else if (p.vectors.length * dimension > MAX_VECTOR_VALUES) {
      add(
        'vectors',
        `at most ${MAX_VECTOR_VALUES} numbers per task (vectors × dimension): ${p.vectors.length} × ${dimension} is more; split them over several tasks`,
      );
    } else if (kbId !== null) await this.checkKbDimension(kbId, dimension, 'vectors', add);
  }

  private async checkKbDimension(kbId: string, dimension: number, field: string, add: AddError): Promise<void> {
    const stored = await this.knowledgeBases.dimensionOf(kbId);
    if (stored !== null && stored !== dimension) {
      add(field, `knowledge base ${kbId} stores ${stored}-dimensional vectors; got ${dimension}`);
    }
  }

  /** Items are task requests: each is checked as one (strictly), under `<prefix>.items[i]`. */
  private async checkBatch(
    p: BatchProcessingPayloadDto,
    raw: Record<string, unknown>,
    kbId: string | null,
    prefix: string,
    fields: FieldErrors,
    add: AddError,
  ): Promise<void> {
    if ((p.items === undefined) === (p.file_paths === undefined)) {
      add('', 'give either items or file_paths');
      return;
    }
    if (p.file_paths) {
      this.checkChunking(p.chunk_size, p.chunk_overlap, add);
      p.file_paths.forEach((path, i) => {
        this.checkPath(kbId, path, `file_paths[${i}]`, add);
      });
      return;
    }
    for (const [i, item] of (raw.items as unknown[]).entries()) {
      Object.assign(fields, (await this.check(BatchTaskItemDto, item, `${prefix}.items[${i}]`, { kbId })).fields);
    }
  }
}

/** One upsert cannot write the same id twice: name the first repeat. Absent ids (defaults) are not compared. */
function checkUnique(ids: (string | undefined)[], path: (index: number) => string, add: AddError): void {
  const seen = new Set<string>();
  for (const [i, id] of ids.entries()) {
    if (id === undefined) continue;
    if (seen.has(id)) {
      add(path(i), `id "${id}" is given more than once`);
      return;
    }
    seen.add(id);
  }
}

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** A number-array vector is validated as `{values}`: report its problems at `vectors[i]`, the path the caller sent. */
function renameArrayVectorPaths(fields: FieldErrors, prefix: string, rawVectors: unknown[]): void {
  for (const key of Object.keys(fields)) {
    const match = key.startsWith(`${prefix}.vectors[`)
      ? /^\.vectors\[(\d+)\]\.values$/.exec(key.slice(prefix.length))
      : null;
    if (!match || !Array.isArray(rawVectors[Number(match[1])])) continue;
    fields[`${prefix}.vectors[${match[1]}]`] = fields[key];
    Reflect.deleteProperty(fields, key);
  }
}
