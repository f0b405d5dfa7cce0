import { plainToInstance, Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  Min,
  MinLength,
  ValidateBy,
  ValidateIf,
  validateSync,
} from 'class-validator';
import { isSecretVariable, redactSecrets } from '../common/security/redact';
import { TaskType } from '../generated/prisma/enums';
import { apiKeysProblem, JwtEnvironment, jwtProblem } from './auth-settings';
import { taskTypeCapsProblem } from './concurrency-caps';
import { AppRole, EmbeddingProviderKind, UploadNamespaceMode, VectorStoreMode } from './env-kinds';

export { AppRole, EmbeddingProviderKind, UploadNamespaceMode, VectorStoreMode };

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && value.trim() !== '' ? Number(value) : value;

const toBoolean = ({ value }: { value: unknown }) => {
  if (typeof value !== 'string') return value;
  const v = value.trim().toLowerCase();
  return v === 'true' || v === '1' ? true : v === 'false' || v === '0' || v === '' ? false : value;
};

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

  /** The worker role has no HTTP API; a port here serves its /metrics alone (0: none). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  WORKER_METRICS_PORT = 0;

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
  @Matches(/^$|^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/, {
    message: 'REDIS_CLUSTER_NODES must be a comma-separated list of host:port seed nodes',
  })
  REDIS_CLUSTER_NODES = '';

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

  /**
   * Task types served by external workers over REST (POST /api/v1/workers/lease) instead of
   * the built-in processors: comma-separated, empty for none. Every process must agree.
   */
  @IsOptional()
  @ValidateBy({
    name: 'taskTypeList',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && parseTaskTypeList(value) !== null,
      defaultMessage: () =>
        `EXTERNAL_TASK_TYPES must be empty or a comma-separated list of task types (${Object.values(TaskType).join(', ')})`,
    },
  })
  EXTERNAL_TASK_TYPES = '';

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

  // --- Scheduling between knowledge bases (docs/scheduling.md).

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean()
  KB_FAIR_DISPATCH = true;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100_000)
  KB_MAX_CONCURRENCY = 0;

  @ValidateBy({
    name: 'taskTypeCaps',
    validator: {
      validate: (value: unknown) => taskTypeCapsProblem(value) === null,
      defaultMessage: (args) => `TASK_TYPE_MAX_CONCURRENCY: ${taskTypeCapsProblem(args?.value)}`,
    },
  })
  TASK_TYPE_MAX_CONCURRENCY = '';

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

  /** Body limit of every route but task creation: their bodies are a few fields. */
  @IsOptional()
  @Matches(/^\d+(kb|mb)$/i, { message: 'BODY_LIMIT must look like 1mb or 512kb' })
  BODY_LIMIT = '64kb';

  /** Body limit of POST /api/v1/tasks and /tasks/batch: room for ~2,000 vectors of 1,536 dimensions. */
  @IsOptional()
  @Matches(/^\d+(kb|mb)$/i, { message: 'TASK_BODY_LIMIT must look like 64mb or 512kb' })
  TASK_BODY_LIMIT = '64mb';

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
  @IsEnum(UploadNamespaceMode, { message: 'UPLOAD_NAMESPACE must be auto, shared or per_kb' })
  UPLOAD_NAMESPACE: UploadNamespaceMode = UploadNamespaceMode.Auto;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'UPLOAD_ALLOW_HARD_LINKS must be true or false' })
  UPLOAD_ALLOW_HARD_LINKS = false;

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

  /** The provider's limits, kept by all processes together (one budget in Redis); 0 = unlimited. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  EMBEDDING_REQUESTS_PER_MINUTE = 0;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  EMBEDDING_TOKENS_PER_MINUTE = 0;

  /** Longest one batch waits for the rate limits before its attempt fails (retryably). */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  EMBEDDING_MAX_THROTTLE_WAIT_SECONDS = 300;

  @IsOptional()
  @IsEnum(VectorStoreMode, { message: 'VECTOR_STORE must be auto, pgvector or float_array' })
  VECTOR_STORE: VectorStoreMode = VectorStoreMode.Auto;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(20)
  @Max(5000)
  EVENTS_POLL_INTERVAL_MS = 100;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1000)
  @Max(300000)
  EVENTS_HEARTBEAT_MS = 15000;

  @IsOptional()
  @Matches(/^\s*$|^\s*(\*\.)?[A-Za-z0-9.-]+\s*(,\s*(\*\.)?[A-Za-z0-9.-]+\s*)*$/, {
    message: 'WEBHOOK_ALLOWED_HOSTS must be a comma-separated list of host names, e.g. hooks.example.com,*.example.org',
  })
  WEBHOOK_ALLOWED_HOSTS = '';

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'WEBHOOK_ALLOW_PRIVATE must be true or false' })
  WEBHOOK_ALLOW_PRIVATE = false;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(25)
  WEBHOOK_MAX_ATTEMPTS = 10;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3600000)
  WEBHOOK_RETRY_BACKOFF_MS = 2000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(100)
  @Max(120000)
  WEBHOOK_TIMEOUT_MS = 10000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  BULK_SYNC_LIMIT = 5000;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(10)
  @Max(10000)
  BULK_BATCH_SIZE = 500;

  // --- Security (docs/security.md). Authentication is on when API_KEYS or a JWT key is set.

  @ValidateBy({
    name: 'apiKeys',
    validator: {
      validate: (value: unknown) => apiKeysProblem(value) === null,
      defaultMessage: (args) => `API_KEYS: ${apiKeysProblem(args?.value)}`,
    },
  })
  API_KEYS = '';

  @IsOptional()
  @IsString()
  JWT_SECRET = '';

  @IsOptional()
  @IsString()
  JWT_PUBLIC_KEY = '';

  @ValidateBy({
    name: 'jwtSettings',
    validator: {
      validate: (_value: unknown, args) => jwtProblem(args?.object as JwtEnvironment) === null,
      defaultMessage: (args) => `${jwtProblem(args?.object as JwtEnvironment)}`,
    },
  })
  JWT_ALGORITHM = '';

  @IsOptional()
  @IsString()
  JWT_ISSUER = '';

  @IsOptional()
  @IsString()
  JWT_AUDIENCE = '';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(300)
  JWT_CLOCK_SKEW_SECONDS = 30;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'METRICS_REQUIRE_AUTH must be true or false' })
  METRICS_REQUIRE_AUTH = false;

  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'DOCS_REQUIRE_AUTH must be true or false' })
  DOCS_REQUIRE_AUTH = false;

  /** The API keeps the task Swagger UI's `{task_id}` examples name (a health_check in kb_123456), so "Try it out" finds it. */
  @IsOptional()
  @Transform(toBoolean)
  @IsBoolean({ message: 'SWAGGER_EXAMPLE_TASK must be true or false' })
  SWAGGER_EXAMPLE_TASK = true;

  /**
   * Requests per minute per API key or token subject (authentication on). 120,000 (2,000/s):
   * 20x the contract's 100 tasks/s, so a caller creating that and polling each task a few
   * times stays far below it, and about what one API instance serves, so only a runaway
   * caller meets it.
   */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  RATE_LIMIT_PER_MINUTE = 120_000;

  /** Requests per minute per client IP when authentication is off; 0 (the default): no limit. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(100_000_000)
  RATE_LIMIT_PER_IP_PER_MINUTE = 0;

  /** Failed authentications per client IP within AUTH_FAILURE_WINDOW_SECONDS before it is blocked for that long. */
  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100_000_000)
  AUTH_FAILURE_LIMIT = 20;

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(86_400)
  AUTH_FAILURE_WINDOW_SECONDS = 300;

  @IsOptional()
  @Matches(/^\s*$|^\s*\*\s*$|^\s*https?:\/\/[A-Za-z0-9.-]+(:\d+)?\s*(,\s*https?:\/\/[A-Za-z0-9.-]+(:\d+)?\s*)*$/, {
    message:
      'CORS_ORIGINS must be empty, * or a comma-separated list of origins such as https://app.example.com,http://localhost:3000',
  })
  CORS_ORIGINS = '';

  @IsOptional()
  @Transform(toInt)
  @IsInt()
  @Min(2)
  @Max(1000)
  MAX_JSON_DEPTH = 32;

  @IsOptional()
  @Matches(
    /^\s*(true|false|\d{1,2}|(loopback|linklocal|uniquelocal|[0-9.]+(\/\d{1,2})?|[0-9A-Fa-f:]+(\/\d{1,3})?)(\s*,\s*(loopback|linklocal|uniquelocal|[0-9.]+(\/\d{1,2})?|[0-9A-Fa-f:]+(\/\d{1,3})?))*)\s*$/,
    {
      message:
        'TRUST_PROXY must be true, false, a hop count, or a comma-separated list of proxy addresses/subnets (loopback, 10.0.0.0/8, ...)',
    },
  )
  TRUST_PROXY = 'false';
}

/** A comma-separated list of task types, without repeats; null when an item is not a task type. */
export function parseTaskTypeList(value: string): TaskType[] | null {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);
  const known = new Set<string>(Object.values(TaskType));
  if (!items.every((item) => known.has(item))) return null;
  return [...new Set(items)] as TaskType[];
}

/** ConfigModule's `validate` hook: returns the typed, defaulted env or throws naming every bad variable. */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const env = plainToInstance(EnvironmentVariables, raw, { exposeDefaultValues: true });
  const errors = validateSync(env, { skipMissingProperties: false, whitelist: false });
  if (errors.length > 0) {
    const lines = errors.map(
      // A secret's value is never echoed, not even when it is the bad one.
      (e) =>
        `  ${e.property}=${isSecretVariable(e.property) ? '<redacted>' : redactSecrets(JSON.stringify(e.value) ?? '')}: ${Object.values(e.constraints ?? {}).join('; ')}`,
    );
    throw new Error(`Invalid environment configuration:\n${lines.join('\n')}`);
  }
  return env;
}
