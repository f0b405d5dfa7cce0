import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import {
  EXAMPLE_DOCUMENT_ID,
  EXAMPLE_KB_ID,
  invalidPathParam,
  PathParam,
  UuidParam,
} from '../common/decorators/path-param.decorator';
import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { KB_ID_PATTERN } from '../common/utils/id-patterns';
import {
  DocumentDetailDto,
  DocumentDto,
  DocumentListDto,
  ListDocumentsQueryDto,
  SearchQueryDto,
  SearchResponseDto,
} from './dto/kb.dto';
import { KnowledgeBaseRepository, StoredDocument } from './knowledge-base.repository';
import { SearchService } from './search.service';

const DOCUMENT_NOT_FOUND = 'Document not found in this knowledge base';

/** `{kb_id}`: a name the caller chooses, so a malformed one is a 400 as it is in a body or query. */
const KbIdParam = () =>
  PathParam({
    name: 'kb_id',
    pattern: KB_ID_PATTERN,
    maxLength: 128,
    example: EXAMPLE_KB_ID,
    description: 'Knowledge base id (the example is the kb of the request examples)',
    refuse: invalidPathParam('kb_id', 'must be 1–128 letters, digits, _ . : - starting with a letter or digit'),
  });

@ApiTags('knowledge bases')
@Controller('api/v1/kbs/:kb_id')
export class KbsController {
  constructor(
    private readonly kb: KnowledgeBaseRepository,
    private readonly searchService: SearchService,
  ) {}

  @Get('documents')
  @ApiOperation({ summary: 'Documents stored for a knowledge base, newest first' })
  @ApiOkResponse({ type: DocumentListDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async documents(@KbIdParam() kbId: string, @Query() query: ListDocumentsQueryDto): Promise<DocumentListDto> {
    const { documents, total } = await this.kb.findDocumentsPage(kbId, query.page, query.page_size);
    return {
      documents: documents.map(toDocumentDto),
      pagination: {
        page: query.page,
        page_size: query.page_size,
        total,
        total_pages: Math.ceil(total / query.page_size),
      },
    };
  }

  @Get('documents/:document_id')
  @ApiOperation({ summary: 'One document with its chunks' })
  @ApiOkResponse({ type: DocumentDetailDto })
  @ApiErrors(
    ErrorCode.InvalidRequest,
    [
      ErrorCode.NotFound,
      DOCUMENT_NOT_FOUND,
      { kb_id: 'kb_123456', document_id: '0b9d7e2a-4c1f-4e8a-9d3b-5f6a7c8e9d01' },
    ],
    ErrorCode.ServiceUnavailable,
  )
  async document(
    @KbIdParam() kbId: string,
    @UuidParam(
      'document_id',
      'Document id (a UUID). The example is the sample document the service keeps processed in kb_123456.',
      DOCUMENT_NOT_FOUND,
      EXAMPLE_DOCUMENT_ID,
    )
    documentId: string,
  ): Promise<DocumentDetailDto> {
    const document = await this.kb.findDocument(kbId, documentId);
    if (!document) {
      throw new DomainError(ErrorCode.NotFound, DOCUMENT_NOT_FOUND, { kb_id: kbId, document_id: documentId });
    }
    const chunks = await this.kb.findChunks(document);
    return {
      ...toDocumentDto(document),
      chunks: chunks.map((c) => ({
        id: c.id,
        chunk_index: c.chunkIndex,
        content: c.content,
        start: c.startOffset,
        end: c.endOffset,
      })),
    };
  }

  @Get('search')
  @ApiOperation({ summary: 'Best chunks for a query: fulltext, vector or hybrid' })
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async search(@KbIdParam() kbId: string, @Query() query: SearchQueryDto): Promise<SearchResponseDto> {
    const results = await this.searchService.search(kbId, query.q, query.mode, query.limit);
    return { kb_id: kbId, query: query.q, mode: query.mode, results };
  }
}

function toDocumentDto(d: StoredDocument): DocumentDto {
  return {
    id: d.id,
    kb_id: d.kbId,
    file_path: d.sourcePath,
    format: d.format,
    content_hash: d.contentHash,
    characters: d.characters,
    pages: d.pages,
    chunk_count: d.chunkCount,
    chunk_size: d.chunkSize,
    chunk_overlap: d.chunkOverlap,
    metadata: d.metadata ?? null,
    last_task_id: d.lastTaskId,
    indexed_at: d.indexedAt?.toISOString() ?? null,
    created_at: d.createdAt.toISOString(),
    updated_at: d.updatedAt.toISOString(),
  };
}
