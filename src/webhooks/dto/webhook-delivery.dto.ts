import { ApiProperty } from '@nestjs/swagger';

/** One attempt to deliver a task's webhook. */
export class WebhookDeliveryDto {
  @ApiProperty({
    type: 'integer',
    example: 18342,
    description: 'The terminal task event delivered; the same across retries (header X-TaskManager-Delivery)',
  })
  event_id!: number;

  @ApiProperty({ type: 'integer', example: 1, description: 'Delivery attempt, from 1' })
  attempt!: number;

  @ApiProperty({ example: 'https://hooks.example.com/task-done' })
  url!: string;

  @ApiProperty({
    nullable: true,
    type: 'integer',
    example: 200,
    description: 'HTTP status the receiver answered; null when none (refused, timeout, network error)',
  })
  status_code!: number | null;

  @ApiProperty({ nullable: true, type: String, example: null })
  error!: string | null;

  @ApiProperty({ type: 'integer', example: 35 })
  duration_ms!: number;

  @ApiProperty({ example: true, description: 'The receiver answered 2xx' })
  succeeded!: boolean;

  @ApiProperty({ format: 'date-time' })
  at!: string;
}
