import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { registerAs } from '@nestjs/config';
import type { JwtVerifierOptions } from '../common/security/jwt-verifier';
import { registerSecrets, secretsFromEnv } from '../common/security/redact';
import type { TaskType } from '../generated/prisma/enums';
import { ApiKeyEntry, parseApiKeys } from './api-keys';
import { jwtSettings } from './auth-settings';
import { parseTaskTypeCaps, type TaskTypeCaps } from './concurrency-caps';
import {
  AppRole,
  EmbeddingProviderKind,
  EnvironmentVariables,
  parseTaskTypeList,
  UploadNamespaceMode,
  validateEnvironment,
  VectorStoreMode,
} from './env.validation';

/** Typed, namespaced configuration read with `config.getOrThrow('app.port', { infer: true })`. */
export interface AppConfig {
  role: AppRole;
  port: number;
  host: string;
  /** Where a worker-role process serves /metrics; 0 when it serves none. */
  workerMetricsPort: number;
  bodyLimit: string;
  taskBodyLimit: string;
  logLevel: string;
  version: string;
  /** Whether the API keeps the example task the docs' `{task_id}` examples name. */
  swaggerExampleTask: boolean;
}

export interface DatabaseConfig {
  url: string;
  poolSize: number;
}

export interface QueueConfig {
  redisUrl: string;
  /** Seed nodes of a Redis Cluster; empty for a single Redis at redisUrl. */
  clusterNodes: { host: string; port: number }[];
  /** Key prefix; hash-tagged (`{…}`) in cluster mode so each queue's keys share one slot. */
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
  /** Within a priority, kbs take turns (fair tags); false: plain FIFO per priority. */
  kbFairDispatch: boolean;
  /** Tasks of one kb running at once across every worker; 0 means no cap. */
  kbMaxConcurrency: number;
  /** Tasks of a type running at once across every worker; absent types are uncapped. */
  taskTypeMaxConcurrency: TaskTypeCaps;
  /** Task types leased by external workers over REST: no BullMQ job, no built-in processor. */
  externalTaskTypes: TaskType[];
}

export interface RetentionConfig {
  /** Finished tasks older than this are deleted; 0 keeps them forever. */
  taskRetentionDays: number;
  idempotencyTtlHours: number;
  intervalMs: number;
}

export interface PipelineConfig {
  uploadDir: string;
  /** UPLOAD_NAMESPACE with auto decided from this process's own credentials: whether each kb reads only UPLOAD_DIR/<kb_id>/. */
  uploadPerKb: boolean;
  /** UPLOAD_NAMESPACE as configured: in auto, a worker-only process follows what the API recorded (UploadNamespaceService). */
  uploadNamespace: UploadNamespaceMode;
  allowHardLinks: boolean;
  maxFileBytes: number;
  embedding: {
    provider: EmbeddingProviderKind;
    dimension: number;
    baseUrl: string;
    apiKey: string;
    model: string;
    batchSize: number;
    /** Shared provider limits; 0 = unlimited. */
    requestsPerMinute: number;
    tokensPerMinute: number;
    maxThrottleWaitMs: number;
  };
  /** auto (pgvector when installed, else float arrays), or a forced backend. */
  vectorStore: VectorStoreMode;
}

export interface EventsConfig {
  /** How often a process reads new task events while it has SSE subscribers. */
  pollIntervalMs: number;
  /** Comment line sent on idle SSE streams so proxies keep them open. */
  heartbeatMs: number;
}

export interface WebhooksConfig {
  /** Host names (`*.example.com` wildcards) callback URLs may target; empty allows any public host. */
  allowedHosts: string[];
  /** Allow private, loopback and link-local addresses (tests, internal deployments). */
  allowPrivate: boolean;
  maxAttempts: number;
  retryBackoffMs: number;
  timeoutMs: number;
}

export interface BulkConfig {
  /** Bulk actions matching at most this many tasks are answered when done (200); larger ones run in the background (202). */
  syncLimit: number;
  /** Tasks changed per transaction. */
  batchSize: number;
}

export interface AuthConfig {
  /** On when any API key or a JWT key is configured; off, every route is open. */
  enabled: boolean;
  apiKeys: ApiKeyEntry[];
  /** Null when JWTs are not accepted. */
  jwt: JwtVerifierOptions | null;
  metricsRequireAuth: boolean;
  docsRequireAuth: boolean;
  /** Requests per minute per API key or token subject when authentication is on; 0 disables. */
  rateLimitPerMinute: number;
  /** Requests per minute per client IP when authentication is off; 0 (the default) disables. */
  rateLimitPerIpPerMinute: number;
  /** Failed authentications per client IP within `authFailureWindowSeconds`; past it the IP is blocked that long. */
  authFailureLimit: number;
  authFailureWindowSeconds: number;
}

export interface HttpConfig {
  /** Origins allowed by CORS: empty (CORS off), ['*'], or exact origins. */
  corsOrigins: string[];
  maxJsonDepth: number;
  /** Fastify's `trustProxy` (the forms express's `trust proxy` took): whose X-Forwarded-For to believe for the client IP. */
  trustProxy: boolean | number | string;
}

export interface AllConfig {
  app: AppConfig;
  database: DatabaseConfig;
  queue: QueueConfig;
  pipeline: PipelineConfig;
  retention: RetentionConfig;
  events: EventsConfig;
  webhooks: WebhooksConfig;
  bulk: BulkConfig;
  auth: AuthConfig;
  http: HttpConfig;
}

const env = (): EnvironmentVariables => validateEnvironment(process.env);

/** The version /health reports; package.json sits two levels up from both src/config and dist/config. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function parseClusterNodes(list: string): { host: string; port: number }[] {
  return list
    .split(',')
    .filter(Boolean)
    .map((node) => {
      const [host, port] = node.split(':');
      return { host, port: Number(port) };
    });
}

export const appConfig = registerAs('app', (): AppConfig => {
  const e = env();
  return {
    role: e.APP_ROLE,
    port: e.PORT,
    host: e.HOST,
    workerMetricsPort: e.WORKER_METRICS_PORT,
    bodyLimit: e.BODY_LIMIT,
    taskBodyLimit: e.TASK_BODY_LIMIT,
    logLevel: e.LOG_LEVEL,
    version: packageVersion(),
    swaggerExampleTask: e.SWAGGER_EXAMPLE_TASK,
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
    clusterNodes: parseClusterNodes(e.REDIS_CLUSTER_NODES),
    prefix: e.REDIS_CLUSTER_NODES ? `{${e.QUEUE_PREFIX}}` : e.QUEUE_PREFIX,
    workerConcurrency: e.WORKER_CONCURRENCY,
    heartbeatMs: e.WORKER_HEARTBEAT_MS,
    shutdownGraceMs: e.WORKER_SHUTDOWN_GRACE_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    retryBackoffMs: e.TASK_RETRY_BACKOFF_MS,
    stalledIntervalMs: e.WORKER_STALLED_INTERVAL_MS,
    lockDurationMs: e.WORKER_LOCK_DURATION_MS,
    maxQueuedTasks: e.MAX_QUEUED_TASKS,
    kbFairDispatch: e.KB_FAIR_DISPATCH,
    kbMaxConcurrency: e.KB_MAX_CONCURRENCY,
    taskTypeMaxConcurrency: parseTaskTypeCaps(e.TASK_TYPE_MAX_CONCURRENCY),
    externalTaskTypes: parseTaskTypeList(e.EXTERNAL_TASK_TYPES) ?? [],
  };
});

/** auto: per kb whenever some caller may be limited to some kbs, so no kb can read another's uploads. */
export function uploadPerKb(e: EnvironmentVariables): boolean {
  if (e.UPLOAD_NAMESPACE !== UploadNamespaceMode.Auto) return e.UPLOAD_NAMESPACE === UploadNamespaceMode.PerKb;
  return parseApiKeys(e.API_KEYS).some((key) => key.kbIds !== null) || jwtSettings(e) !== null;
}

/**
 * A worker needs no credentials, so in auto mode it cannot resolve the mode itself: it follows
 * the mode the API recorded in PostgreSQL (UploadNamespaceService). Said at start, so an
 * operator knows where the mode comes from.
 */
export function uploadNamespaceWarning(e: EnvironmentVariables): string | null {
  if (e.APP_ROLE !== AppRole.Worker || e.UPLOAD_NAMESPACE !== UploadNamespaceMode.Auto || uploadPerKb(e)) return null;
  return (
    'UPLOAD_NAMESPACE=auto: this worker has no API key with kb_ids and no JWT settings, so it follows the upload mode ' +
    'the API recorded in PostgreSQL (until an API has recorded one, document tasks fail and are retried); set UPLOAD_NAMESPACE ' +
    '(per_kb or shared) on every process to make it explicit.'
  );
}

export const pipelineConfig = registerAs('pipeline', (): PipelineConfig => {
  const e = env();
  return {
    uploadDir: resolve(e.UPLOAD_DIR),
    uploadPerKb: uploadPerKb(e),
    uploadNamespace: e.UPLOAD_NAMESPACE,
    allowHardLinks: e.UPLOAD_ALLOW_HARD_LINKS,
    maxFileBytes: e.MAX_FILE_BYTES,
    embedding: {
      provider: e.EMBEDDING_PROVIDER,
      dimension: e.EMBEDDING_DIMENSION,
      baseUrl: e.EMBEDDING_BASE_URL,
      apiKey: e.EMBEDDING_API_KEY,
      model: e.EMBEDDING_MODEL,
      batchSize: e.EMBEDDING_BATCH_SIZE,
      requestsPerMinute: e.EMBEDDING_REQUESTS_PER_MINUTE,
      tokensPerMinute: e.EMBEDDING_TOKENS_PER_MINUTE,
      maxThrottleWaitMs: e.EMBEDDING_MAX_THROTTLE_WAIT_SECONDS * 1000,
    },
    vectorStore: e.VECTOR_STORE,
  };
});

export const retentionConfig = registerAs('retention', (): RetentionConfig => {
  const e = env();
  return {
    taskRetentionDays: e.TASK_RETENTION_DAYS,
    idempotencyTtlHours: e.IDEMPOTENCY_TTL_HOURS,
    intervalMs: e.RETENTION_INTERVAL_MS,
  };
});

export const eventsConfig = registerAs('events', (): EventsConfig => {
  const e = env();
  return { pollIntervalMs: e.EVENTS_POLL_INTERVAL_MS, heartbeatMs: e.EVENTS_HEARTBEAT_MS };
});

export const webhooksConfig = registerAs('webhooks', (): WebhooksConfig => {
  const e = env();
  return {
    allowedHosts: e.WEBHOOK_ALLOWED_HOSTS.split(',')
      .map((host) => host.trim().toLowerCase())
      .filter(Boolean),
    allowPrivate: e.WEBHOOK_ALLOW_PRIVATE,
    maxAttempts: e.WEBHOOK_MAX_ATTEMPTS,
    retryBackoffMs: e.WEBHOOK_RETRY_BACKOFF_MS,
    timeoutMs: e.WEBHOOK_TIMEOUT_MS,
  };
});

export const bulkConfig = registerAs('bulk', (): BulkConfig => {
  const e = env();
  return { syncLimit: e.BULK_SYNC_LIMIT, batchSize: e.BULK_BATCH_SIZE };
});

export const authConfig = registerAs('auth', (): AuthConfig => {
  const e = env();
  // Every process loads this namespace, so from here on the logger redacts the env's secrets.
  registerSecrets(secretsFromEnv(process.env));
  const apiKeys = parseApiKeys(e.API_KEYS);
  const jwt = jwtSettings(e);
  return {
    enabled: apiKeys.length > 0 || jwt !== null,
    apiKeys,
    jwt,
    metricsRequireAuth: e.METRICS_REQUIRE_AUTH,
    docsRequireAuth: e.DOCS_REQUIRE_AUTH,
    rateLimitPerMinute: e.RATE_LIMIT_PER_MINUTE,
    rateLimitPerIpPerMinute: e.RATE_LIMIT_PER_IP_PER_MINUTE,
    authFailureLimit: e.AUTH_FAILURE_LIMIT,
    authFailureWindowSeconds: e.AUTH_FAILURE_WINDOW_SECONDS,
  };
});

export const httpConfig = registerAs('http', (): HttpConfig => {
  const e = env();
  const proxy = e.TRUST_PROXY.trim();
  return {
    corsOrigins: e.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    maxJsonDepth: e.MAX_JSON_DEPTH,
    trustProxy:
      proxy === 'true' ? true : proxy === 'false' || proxy === '' ? false : /^\d+$/.test(proxy) ? Number(proxy) : proxy,
  };
});

export const allConfigs = [
  appConfig,
  databaseConfig,
  queueConfig,
  pipelineConfig,
  retentionConfig,
  eventsConfig,
  webhooksConfig,
  bulkConfig,
  authConfig,
  httpConfig,
];
