import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerAs } from '@nestjs/config';
import { AppRole, EnvironmentVariables, validateEnvironment } from './env.validation';

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
}

export interface AllConfig {
  app: AppConfig;
  database: DatabaseConfig;
  queue: QueueConfig;
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
  };
});

export const allConfigs = [appConfig, databaseConfig, queueConfig];
