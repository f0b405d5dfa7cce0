import { ApiProperty } from '@nestjs/swagger';
import { EnumField, IntField, StringField } from '../../common/decorators/validation.decorators';
import { PaginationDto } from '../../common/dto/pagination.dto';

export class ListDocumentsQueryDto {
  @IntField({ required: false, min: 1, max: 1_000_000, default: 1, fromQuery: true })
  page = 1;

  @IntField({ required: false, min: 1, max: 100, default: 20, fromQuery: true })
  page_size = 20;
}

export class SearchQueryDto {
  @StringField({ maxLength: 1000, example: 'search indexes', description: 'What to look for' })
  q!: string;

  @EnumField(['vector', 'fulltext', 'hybrid'] as const, {
    required: false,
    default: 'hybrid',
    description:
      'fulltext: PostgreSQL text ranking; vector: cosine similarity of embeddings; hybrid: both fused by reciprocal rank',
  })
  mode: 'vector' | 'fulltext' | 'hybrid' = 'hybrid';

  @IntField({ required: false, min: 1, max: 100, default: 10, fromQuery: true })
  limit = 10;
}

export class DocumentDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ example: 'kb_demo_001' }) kb_id!: string;
  @ApiProperty({ example: 'report.pdf', description: 'Path inside the upload folder, as given' }) file_path!: string;
  @ApiProperty({ enum: ['txt', 'md', 'html', 'pdf', 'docx'] }) format!: string;
  @ApiProperty({ description: 'SHA-256 of the file' }) content_hash!: string;
  @ApiProperty({ type: 'integer' }) characters!: number;
  @ApiProperty({ nullable: true, type: 'integer' }) pages!: number | null;
  @ApiProperty({ type: 'integer' }) chunk_count!: number;
  @ApiProperty({ type: 'integer' }) chunk_size!: number;
  @ApiProperty({ type: 'integer' }) chunk_overlap!: number;
  @ApiProperty({ type: 'object', additionalProperties: true, nullable: true }) metadata!: unknown;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) last_task_id!: string | null;
  @ApiProperty({ format: 'date-time', nullable: true, type: String }) indexed_at!: string | null;
  @ApiProperty({ format: 'date-time' }) created_at!: string;
  @ApiProperty({ format: 'date-time' }) updated_at!: string;
}

export class ChunkDto {
  @ApiProperty({ format: 'uuid' }) id!: string;
  @ApiProperty({ type: 'integer' }) chunk_index!: number;
  @ApiProperty() content!: string;
  @ApiProperty({ type: 'integer', description: 'Offset of the first character in the extracted text (code points)' })
  start!: number;
  @ApiProperty({ type: 'integer', description: 'Offset after the last character (code points)' }) end!: number;
}

export class DocumentDetailDto extends DocumentDto {
  @ApiProperty({ type: [ChunkDto] }) chunks!: ChunkDto[];
}

export class DocumentListDto {
  @ApiProperty({ type: [DocumentDto] }) documents!: DocumentDto[];
  @ApiProperty({ type: PaginationDto }) pagination!: PaginationDto;
}

export class SearchHitDto {
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) chunk_id!: string | null;
  @ApiProperty({ format: 'uuid', nullable: true, type: String }) document_id!: string | null;
  @ApiProperty({ nullable: true, type: 'integer' }) chunk_index!: number | null;
  @ApiProperty({ nullable: true, type: String }) source_path!: string | null;
  @ApiProperty({ nullable: true, type: String }) content!: string | null;
  @ApiProperty({ description: 'fulltext: ts_rank_cd; vector: cosine similarity; hybrid: reciprocal-rank-fusion score' })
  score!: number;
  @ApiProperty({ required: false, nullable: true, type: 'integer' }) fulltext_rank?: number | null;
  @ApiProperty({ required: false, nullable: true, type: 'integer' }) vector_rank?: number | null;
}

export class SearchResponseDto {
  @ApiProperty() kb_id!: string;
  @ApiProperty() query!: string;
  @ApiProperty({ enum: ['vector', 'fulltext', 'hybrid'] }) mode!: string;
  @ApiProperty({ type: [SearchHitDto] }) results!: SearchHitDto[];
}
