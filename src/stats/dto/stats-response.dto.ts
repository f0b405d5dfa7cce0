import { ApiProperty } from '@nestjs/swagger';

export class TaskStatsResponseDto {
  @ApiProperty({ type: 'integer', example: 1250 }) total_tasks!: number;
  @ApiProperty({ type: 'integer', example: 45 }) queued_tasks!: number;
  @ApiProperty({ type: 'integer', example: 12 }) processing_tasks!: number;
  @ApiProperty({ type: 'integer', example: 1180 }) completed_tasks!: number;
  @ApiProperty({ type: 'integer', example: 13 }) failed_tasks!: number;
  @ApiProperty({ type: 'integer', example: 0 }) cancelled_tasks!: number;

  @ApiProperty({ example: 45.6, description: 'Mean seconds from start to completion of completed tasks; 0 when none' })
  avg_process_time!: number;

  @ApiProperty({
    example: 94.4,
    description: 'completed / (completed + failed) in percent, one decimal; 0 when none has finished',
  })
  success_rate!: number;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Tasks per status',
    example: { queued: 45, processing: 12, completed: 1180, failed: 13, cancelled: 0 },
  })
  status_breakdown!: Record<string, number>;

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'integer' },
    description: 'Tasks per task type',
    example: { document_processing: 800, embedding_generation: 350, knowledge_indexing: 100 },
  })
  type_breakdown!: Record<string, number>;
}

export class WorkerStatsDto {
  @ApiProperty({ example: 'worker_host-1_4242_a1b2' }) id!: string;
  @ApiProperty({ enum: ['busy', 'idle', 'stopping'], example: 'busy' }) status!: string;
  @ApiProperty({ nullable: true, type: String, example: '550e8400-e29b-41d4-a716-446655440000' }) current_task_id!:
    string | null;
  @ApiProperty({ type: [String], description: 'Every task this worker runs now (it runs up to `concurrency` at once)' })
  current_task_ids!: string[];
  @ApiProperty({ type: 'integer', example: 50 }) concurrency!: number;
  @ApiProperty({ type: 'integer', example: 156 }) tasks_processed!: number;
  @ApiProperty({ type: 'integer', example: 148 }) tasks_succeeded!: number;
  @ApiProperty({ type: 'integer', example: 8 }) tasks_failed!: number;
  @ApiProperty({ format: 'date-time' }) last_heartbeat!: string;
  @ApiProperty({ format: 'date-time' }) started_at!: string;
  @ApiProperty({ example: 42.3, description: 'Mean seconds per attempt this worker ran' }) average_task_time!: number;
}

export class SystemStatsResponseDto {
  @ApiProperty({ type: 'integer', example: 10, description: 'Worker processes heartbeating now' })
  total_workers!: number;
  @ApiProperty({
    type: 'integer',
    example: 8,
    description: 'Workers running a task now or that finished one in the last 60 s',
  })
  active_workers!: number;
  @ApiProperty({ type: 'integer', example: 2, description: 'total_workers − active_workers' }) idle_workers!: number;
  @ApiProperty({ type: 'integer', example: 6, description: 'Workers running at least one task now' })
  busy_workers!: number;
  @ApiProperty({ type: 'integer', example: 45, description: 'Tasks ready to run, waiting for a worker' })
  queue_size!: number;
  @ApiProperty({ example: 125.5, description: 'Tasks finished (completed or failed) per second over the last 60 s' })
  processing_rate!: number;
  @ApiProperty({ type: [WorkerStatsDto] }) workers!: WorkerStatsDto[];
  @ApiProperty({ type: TaskStatsResponseDto }) task_stats!: TaskStatsResponseDto;
}

export class TimeseriesPointDto {
  @ApiProperty({ format: 'date-time', example: '2025-07-28T14:21:00.000Z', description: 'Start of the bucket' })
  at!: string;
  @ApiProperty({ type: 'integer', example: 42, description: 'Tasks completed in the bucket (throughput)' })
  completed!: number;
  @ApiProperty({ type: 'integer', example: 1 }) failed!: number;
  @ApiProperty({ type: 'integer', example: 0 }) cancelled!: number;
}

export class TimeseriesResponseDto {
  @ApiProperty({ nullable: true, type: String, example: 'kb_123' }) kb_id!: string | null;
  @ApiProperty({ enum: ['minute', 'hour', 'day'], example: 'minute' }) bucket!: string;
  @ApiProperty({ type: [TimeseriesPointDto], description: 'Oldest first, one per bucket, empty buckets included' })
  points!: TimeseriesPointDto[];
}
