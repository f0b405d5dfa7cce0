import { ApiProperty } from '@nestjs/swagger';

/** The page a list response holds: tasks and documents page the same way. */
export class PaginationDto {
  @ApiProperty({ type: 'integer', example: 1 }) page!: number;
  @ApiProperty({ type: 'integer', example: 20 }) page_size!: number;
  @ApiProperty({ type: 'integer', example: 156 }) total!: number;
  @ApiProperty({ type: 'integer', example: 8 }) total_pages!: number;
}
