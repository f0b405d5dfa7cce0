import { Controller, Get, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import type { Document } from '../generated/prisma/client';
import { DocumentDetailDto, DocumentDto, DocumentListDto, ListDocumentsQueryDto, SearchQueryDto, SearchResponseDto } from './dto/kb.dto';
import { KnowledgeBaseRepository } from './knowledge-base.repository';
import { SearchService } from './search.service';
import { isUuid } from '../common/utils/uuid';


@ApiTags('knowledge bases')
@ApiParam({ name: 'kb_id', example: 'kb_demo_001' })
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
  async documents(@Param('kb_id') kbId: string, @Query() query: ListDocumentsQueryDto): Promise<DocumentListDto> {
    const { documents, total } = await this.kb.findDocumentsPage(kbId, query.page, query.page_size);
    return {
      documents: documents.map(toDocumentDto),
      pagination: { page: query.page, page_size: query.page_size, total, total_pages: Math.ceil(total / query.page_size) },
    };
  }

  @Get('documents/:document_id')
  @ApiParam({ name: 'document_id', format: 'uuid' })
  @ApiOperation({ summary: 'One document with its chunks' })
  @ApiOkResponse({ type: DocumentDetailDto })
  @ApiErrors([ErrorCode.NotFound, 'Document not found in this knowledge base', { kb_id: 'kb_123456', document_id: '0b9d7e2a-4c1f-4e8a-9d3b-5f6a7c8e9d01' }], ErrorCode.ServiceUnavailable)
  async document(@Param('kb_id') kbId: string, @Param('document_id') documentId: string): Promise<DocumentDetailDto> {
    const document = isUuid(documentId) ? await this.kb.findDocument(documentId) : null;
    if (!document || document.kbId !== kbId) {
      throw new DomainError(ErrorCode.NotFound, 'Document not found in this knowledge base', { kb_id: kbId, document_id: documentId });
    }
    const chunks = await this.kb.findChunks(documentId);
    return {
      ...toDocumentDto(document),
      chunks: chunks.map((c) => ({ id: c.id, chunk_index: c.chunkIndex, content: c.content, start: c.startOffset, end: c.endOffset })),
    };
  }

  @Get('search')
  @ApiOperation({ summary: 'Best chunks for a query: fulltext, vector or hybrid' })
  @ApiOkResponse({ type: SearchResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  async search(@Param('kb_id') kbId: string, @Query() query: SearchQueryDto): Promise<SearchResponseDto> {
    const results = await this.searchService.search(kbId, query.q, query.mode, query.limit);
    return { kb_id: kbId, query: query.q, mode: query.mode, results };
  }
}

function toDocumentDto(d: Document): DocumentDto {
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
