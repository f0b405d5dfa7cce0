import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { resolve } from 'node:path';
import { AppRole, EmbeddingProviderKind, EnvironmentVariables, validateEnvironment } from './env.validation';

/** Typed, namespaced configuration read with `config.getOrThrow('app.port', { infer: true })`. */
export interface AppConfig {
  role: AppRole;
  port: number;
  host: string;
  bodyLimit: string;
  logLevel: string;
  version: string;
}

export interface DatabaseConfig {
  url: string;
  poolSize: number;
}

export interface QueueConfig {
  redisUrl: string;
  prefix: string;
  workerConcurrency: number;
  heartbeatMs: number;
  shutdownGraceMs: number;
  reconcileIntervalMs: number;
  retryBackoffMs: number;
  stalledIntervalMs: number;
  lockDurationMs: number;
  /** Waiting tasks beyond which creates answer 503 QUEUE_FULL; 0 means no limit. */
  maxQueuedTasks: number;
}

export interface RetentionConfig {
  /** Finished tasks older than this are deleted; 0 keeps them forever. */
  taskRetentionDays: number;
  idempotencyTtlHours: number;
  intervalMs: number;
}

export interface PipelineConfig {
  uploadDir: string;
  maxFileBytes: number;
  embedding: {
    provider: EmbeddingProviderKind;
    dimension: number;
    baseUrl: string;
    apiKey: string;
    model: string;
    batchSize: number;
  };
}

export interface AllConfig {
  app: AppConfig;
  database: DatabaseConfig;
  queue: QueueConfig;
  pipeline: PipelineConfig;
  retention: RetentionConfig;
}

const env = (): EnvironmentVariables => validateEnvironment(process.env);

/** The version /health reports; package.json sits two levels up from both src/config and dist/config. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

export const appConfig = registerAs('app', (): AppConfig => {
  const e = env();
  return {
    role: e.APP_ROLE,
    port: e.PORT,
    host: e.HOST,
    bodyLimit: e.BODY_LIMIT,
    logLevel: e.LOG_LEVEL,
    version: packageVersion(),
  };
});

export const databaseConfig = registerAs('database', (): DatabaseConfig => {
  const e = env();
  return { url: e.DATABASE_URL, poolSize: e.DATABASE_POOL_SIZE };
});

export const queueConfig = registerAs('queue', (): QueueConfig => {
  const e = env();
  return {
    redisUrl: e.REDIS_URL,
    prefix: e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    heartbeatMs: e.WORKER_HEARTBEAT_MS,
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    retryBackoffMs: e.TASK_RETRY_BACKOFF_MS,
    stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    lockDurationMs: e.WORKER_LOCK_DURATION_MS,
    maxQueuedTasks: e.MAX_QUEUED_TASKS,
  };
});

export const pipelineConfig = registerAs('pipeline', (): PipelineConfig => {
  const e = env();
  return {
    uploadDir: resolve(e.UPLOAD_DIR),
    maxFileBytes: e.MAX_FILE_BYTES,
    embedding: {
      provider: e.EMBEDDING_PROVIDER,
      dimension: e.EMBEDDING_DIMENSION,
      baseUrl: e.EMBEDDING_BASE_URL,
      apiKey: e.EMBEDDING_API_KEY,
      model: e.EMBEDDING_MODEL,
      batchSize: e.EMBEDDING_BATCH_SIZE,
    },
  };
});

export const retentionConfig = registerAs('retention', (): RetentionConfig => {
  const e = env();
  return { taskRetentionDays: e.TASK_RETENTION_DAYS, idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS, intervalMs: e.RETENTION_INTERVAL_MS };
});

export const allConfigs = [appConfig, databaseConfig, queueConfig, pipelineConfig, retentionConfig];
