import { ApiProperty } from '@nestjs/swagger';

/** `/health` in the spec's shape; `details` holds one entry per dependency. */
export class HealthResponseDto {
  @ApiProperty({ enum: ['healthy', 'unhealthy'], example: 'healthy' })
  status!: 'healthy' | 'unhealthy';

  @ApiProperty({ example: 'task-manager' })
  service!: string;

  @ApiProperty({ example: '1.0.0' })
  version!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    example: {
      database: { status: 'healthy', latency_ms: 0.8 },
      redis: { status: 'healthy', size: 0, keys: 12, latency_ms: 0.4 },
      queue: {
        status: 'healthy',
        latency_ms: 1.2,
        queues: { health_check: { waiting: 0, delayed: 0, active: 0, failed: 0, paused: false } },
      },
      vector_store: {
        status: 'healthy',
        backend: 'pgvector',
        search: 'hnsw_cosine',
        mode: 'auto',
        pgvector_installed: true,
        pgvector_version: '0.8.1',
        pgvector_available: true,
      },
    },
  })
  details!: Record<string, { status: 'healthy' | 'unhealthy'; [key: string]: unknown }>;
}
