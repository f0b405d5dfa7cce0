import { plainToInstance, Transform } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsString, Matches, Max, Min, MinLength, ValidateIf, validateSync } from 'class-validator';

export enum EmbeddingProviderKind {
  Hashing = 'hashing',
  OpenAi = 'openai',
}

export enum AppRole {
  Api = 'api',
  Worker = 'worker',
  Both = 'both',
}

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

/**
 * Every environment variable the service reads, validated once at boot so that a bad
 * value stops the process with a message naming the variable instead of failing later.
 * `.env.example` documents each of them.
 */
export class EnvironmentVariables {
  @IsOptional()
  @IsEnum(AppRole)
  APP_ROLE: AppRole = AppRole.Both;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(65535)
  PORT = 8084;

  @IsOptional()
  @IsString()
  HOST = '0.0.0.0';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\//, { message: 'DATABASE_URL must be a postgresql:// URL' })
  DATABASE_URL = 'postgresql://postgres@127.0.0.1:5432/task_manager';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 20;

  @IsOptional()
  @Matches(/^rediss?:\/\//, { message: 'REDIS_URL must be a redis:// or rediss:// URL' })
  REDIS_URL = 'redis://127.0.0.1:6379';

  @IsOptional()
  @Matches(/^[A-Za-z0-9_-]+$/, { message: 'QUEUE_PREFIX may hold letters, digits, _ and - only' })
  QUEUE_PREFIX = 'task-manager';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(1000)
  WORKER_CONCURRENCY = 50;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(200)
  @Max(600000)
  WORKER_HEARTBEAT_MS = 5000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  WORKER_SHUTDOWN_GRACE_MS = 30000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  RECONCILE_INTERVAL_MS = 15000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600000)
  TASK_RETRY_BACKOFF_MS = 1000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  WORKER_STALLED_INTERVAL_MS = 30000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(3600000)
  WORKER_LOCK_DURATION_MS = 30000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  MAX_QUEUED_TASKS = 1_000_000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 365)
  IDEMPOTENCY_TTL_HOURS = 24;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(36500)
  TASK_RETENTION_DAYS = 30;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(7 * 24 * 3600 * 1000)
  RETENTION_INTERVAL_MS = 3600000;

  @IsOptional()
  @Matches(/^\d+(kb|mb)$/i, { message: 'BODY_LIMIT must look like 1mb or 512kb' })
  BODY_LIMIT = '1mb';

  @IsOptional()
  @IsString()
  LOG_LEVEL = 'log';

  @IsOptional()
  @IsString()
  UPLOAD_DIR = './uploads';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  MAX_FILE_BYTES = 50 * 1024 * 1024;

  @IsOptional()
  @IsEnum(EmbeddingProviderKind)
  EMBEDDING_PROVIDER: EmbeddingProviderKind = EmbeddingProviderKind.Hashing;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(8)
  @Max(8192)
  EMBEDDING_DIMENSION = 384;

  @IsOptional()
  @ValidateIf((env: EnvironmentVariables) => env.EMBEDDING_PROVIDER === EmbeddingProviderKind.OpenAi)
  @Matches(/^https?:\/\//, { message: 'EMBEDDING_BASE_URL must be an http(s) URL when EMBEDDING_PROVIDER=openai' })
  EMBEDDING_BASE_URL = '';

  @IsOptional()
  @IsString()
  EMBEDDING_API_KEY = '';

  @IsOptional()
  @ValidateIf((env: EnvironmentVariables) => env.EMBEDDING_PROVIDER === EmbeddingProviderKind.OpenAi)
  @IsString()
  @MinLength(1, { message: 'EMBEDDING_MODEL is required when EMBEDDING_PROVIDER=openai' })
  EMBEDDING_MODEL = '';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(2048)
  EMBEDDING_BATCH_SIZE = 64;
}

/** ConfigModule's `validate` hook: returns the typed, defaulted env or throws naming every bad variable. */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map(
      (e) => `  ${e.property}=${JSON.stringify(e.value)}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid environment configuration:\n${lines.join('\n')}`);
  }
  return env;
}
