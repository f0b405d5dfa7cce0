import { createHash, randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { PermanentTaskError } from '../common/errors/task-errors';
import { countOf } from '../common/utils/plural';
import type { AllConfig } from '../config/app.config';
import { FileAccessError, FileAccessReason, UploadFolder, UploadFolderOptions } from '../pipeline/file-confinement';
import { DocumentReadError, extractText, UnsupportedFormatError } from '../pipeline/text-extractor';
import { splitText } from '../pipeline/text-splitter';
import { DEFAULT_CHUNK_SIZE, defaultChunkOverlap } from '../task-types/task-payloads.dto';
import type { PayloadOf } from '../task-types/task-type-registry';
import type { TaskType } from '../task-types/task-types';
import { KnowledgeBaseRepository } from './knowledge-base.repository';
import { UploadNamespaceService } from './upload-namespace.service';

export interface IngestionResult {
  document_id: string;
  file_path: string;
  format: string;
  characters: number;
  pages: number | null;
  chunk_count: number;
  content_hash: string;
  /** True when the file's content and chunking were unchanged and nothing was rewritten. */
  unchanged: boolean;
}

export interface IngestionContext {
  taskId: string;
  kbId: string;
  signal: AbortSignal;
  reportProgress(progress: number, message?: string): Promise<void>;
}

/** A missing, unreadable or just-replaced file may still be landing in the upload folder, so those are retried. */
const RETRYABLE_FILE_ERRORS = new Set<string>([
  FileAccessReason.FileNotFound,
  FileAccessReason.FileNotReadable,
  FileAccessReason.FileChanged,
]);

/**
 * document_processing: reads a confined upload, extracts its text, splits it and stores
 * the document with its chunks (and their full-text vectors) for the kb. The same file
 * (same document id, or same kb and path) replaces its earlier chunks; an unchanged file
 * with unchanged chunking is left as it is.
 */
@Injectable()
export class DocumentIngestionService {
  private readonly uploads: Omit<UploadFolderOptions, 'perKb'>;

  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly namespace: UploadNamespaceService,
    config: ConfigService<AllConfig, true>,
  ) {
    const pipeline = config.getOrThrow('pipeline', { infer: true });
    this.uploads = {
      root: pipeline.uploadDir,
      maxFileBytes: pipeline.maxFileBytes,
      allowHardLinks: pipeline.allowHardLinks,
    };
  }

  async ingest(
    payload: PayloadOf<typeof TaskType.document_processing>,
    ctx: IngestionContext,
  ): Promise<IngestionResult> {
    const chunkSize = payload.chunk_size ?? DEFAULT_CHUNK_SIZE;
    const chunkOverlap = payload.chunk_overlap ?? defaultChunkOverlap(chunkSize);
    // Read once, through the descriptor that was checked: the hash and the text come from these very bytes.
    const uploads = new UploadFolder({ ...this.uploads, perKb: await this.namespace.perKb() });
    const { bytes } = await uploads
      .forKb(ctx.kbId)
      .readConfined(payload.file_path, { signal: ctx.signal })
      .catch((error: unknown) => {
        if (error instanceof FileAccessError && !RETRYABLE_FILE_ERRORS.has(error.reason))
          throw new PermanentTaskError(error.message);
        throw error;
      });
    const contentHash = createHash('sha256').update(bytes).digest('hex');

    const existing = await this.findExisting(payload, ctx.kbId);
    if (
      existing?.contentHash === contentHash &&
      existing.chunkSize === chunkSize &&
      existing.chunkOverlap === chunkOverlap
    ) {
      await this.kb.touchDocument(existing.id, ctx.taskId);
      return {
        document_id: existing.id,
        file_path: payload.file_path,
        format: existing.format,
        characters: existing.characters,
        pages: existing.pages,
        chunk_count: existing.chunkCount,
        content_hash: contentHash,
        unchanged: true,
      };
    }

    await ctx.reportProgress(5, 'Extracting text');
    const extracted = await extractText(payload.file_path, {
      data: bytes,
      signal: ctx.signal,
      sourceName: payload.file_path,
      // Awaited, so page reports land in order; a failed progress write must not pass for an unreadable PDF, so it is not rethrown.
      onPage: (page, total) =>
        ctx.reportProgress(5 + (page / total) * 60, `Extracted page ${page} of ${total}`).catch(() => undefined),
    }).catch((error: unknown) => {
      if (error instanceof UnsupportedFormatError || error instanceof DocumentReadError)
        throw new PermanentTaskError(error.message);
      throw error;
    });
    ctx.signal.throwIfAborted();

    const chunks = splitText(extracted.text, { chunkSize, chunkOverlap });
    await ctx.reportProgress(70, `Storing ${countOf(chunks.length, 'chunk')}`);
    const documentId = existing?.id ?? payload.document_id ?? randomUUID();
    const document = await this.kb.replaceDocument(
      {
        id: documentId,
        kbId: ctx.kbId,
        sourcePath: payload.file_path,
        format: extracted.format,
        contentHash,
        characters: [...extracted.text].length,
        pages: extracted.pages ?? null,
        chunkSize,
        chunkOverlap,
        metadata: payload.metadata ?? null,
        taskId: ctx.taskId,
      },
      chunks.map((c) => ({ index: c.index, content: c.content, start: c.start, end: c.end })),
      {
        signal: ctx.signal,
        onBatch: (stored) =>
          ctx.reportProgress(70 + (stored / chunks.length) * 30, `Stored ${stored} of ${chunks.length} chunks`),
      },
    );
    // Taken by another kb since findExisting looked: the insert refused to touch it.
    if (!document) throw new PermanentTaskError(`Document ${documentId} belongs to another knowledge base`);
    return {
      document_id: document.id,
      file_path: payload.file_path,
      format: document.format,
      characters: document.characters,
      pages: document.pages,
      chunk_count: document.chunkCount,
      content_hash: contentHash,
      unchanged: false,
    };
  }

  private async findExisting(payload: PayloadOf<typeof TaskType.document_processing>, kbId: string) {
    if (payload.document_id) {
      if (await this.kb.isDocumentIdTaken(kbId, payload.document_id)) {
        throw new PermanentTaskError(`Document ${payload.document_id} belongs to another knowledge base`);
      }
      return this.kb.findDocument(kbId, payload.document_id);
    }
    return this.kb.findDocumentByPath(kbId, payload.file_path);
  }
}
