import type { Cluster, Redis } from 'ioredis';
import type { Admission, WindowLimits } from './sliding-window';

/**
 * One admission, atomically, on Redis' clock (TIME), so the processes' own clocks never
 * disagree about the window. KEYS: the log (sorted set of `id:tokens` scored by send time in
 * ms), the running token total of the log, the paused-until time. ARGV: window ms, max
 * requests, max tokens (0 = unlimited), this request's tokens, its id. Answers {1, 0} when
 * granted (and recorded), {0, wait ms} when not. Same steps as `admit` in sliding-window.ts.
 */
const ACQUIRE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local paused = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused > now then return {0, paused - now} end
local window, maxRequests, maxTokens = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tokens = tonumber(ARGV[4])
if maxRequests == 0 and maxTokens == 0 then return {1, 0} end
local function cost(member) return tonumber(string.match(member, ':(%d+)$')) end
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - window)
if #expired > 0 then
  local freed = 0
  for _, member in ipairs(expired) do freed = freed + cost(member) end
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  redis.call('DECRBY', KEYS[2], freed)
end
local count = redis.call('ZCARD', KEYS[1])
local used = tonumber(redis.call('GET', KEYS[2]) or '0')
local wait = 0
if maxRequests > 0 and count >= maxRequests then
  local oldest = redis.call('ZRANGE', KEYS[1], count - maxRequests, count - maxRequests, 'WITHSCORES')
  wait = tonumber(oldest[2]) + window - now
end
if maxTokens > 0 and count > 0 and used + tokens > maxTokens then
  local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
  local remaining = used
  for i = 1, #entries, 2 do
    remaining = remaining - cost(entries[i])
    if remaining + tokens <= maxTokens or i == #entries - 1 then
      wait = math.max(wait, tonumber(entries[i + 1]) + window - now)
      break
    end
  end
end
if wait > 0 then return {0, wait} end
redis.call('ZADD', KEYS[1], now, ARGV[5] .. ':' .. tokens)
redis.call('INCRBY', KEYS[2], tokens)
redis.call('PEXPIRE', KEYS[1], window)
redis.call('PEXPIRE', KEYS[2], window)
return {1, 0}
`;

/** KEYS: paused-until. ARGV: pause ms. Extends the pause to now + ms on Redis' clock; a longer pause stays. */
const PAUSE_SCRIPT = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local untilMs = now + tonumber(ARGV[1])
if untilMs > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], untilMs, 'PX', ARGV[1])
end
return 1
`;

/**
 * KEYS: the log, the token total. ARGV: id, charged tokens, real tokens. Re-charges a request
 * still in the window with what the provider said it cost; one that already left is ignored.
 */
const SETTLE_SCRIPT = `
local old = ARGV[1] .. ':' .. ARGV[2]
local score = redis.call('ZSCORE', KEYS[1], old)
if not score then return 0 end
redis.call('ZREM', KEYS[1], old)
redis.call('ZADD', KEYS[1], score, ARGV[1] .. ':' .. ARGV[3])
redis.call('INCRBY', KEYS[2], tonumber(ARGV[3]) - tonumber(ARGV[2]))
return 1
`;

type RedisConnection = Redis | Cluster;

interface BudgetCommands {
  providerBudgetAcquire(
    log: string,
    tokens: string,
    paused: string,
    windowMs: number,
    maxRequests: number,
    maxTokens: number,
    cost: number,
    id: string,
  ): Promise<[number, number]>;
  providerBudgetPause(paused: string, ms: number): Promise<number>;
  providerBudgetSettle(log: string, tokens: string, id: string, charged: number, real: number): Promise<number>;
}

/** Where a budget's keys live: one hash tag, so the scripts' keys share a Redis Cluster slot. */
export function budgetKeys(prefix: string, budget: string): { log: string; tokens: string; paused: string } {
  // QUEUE_PREFIX is hash-tagged itself in cluster mode; a tag inside a tag would only confuse.
  const tag = `{${prefix.replace(/[{}]/g, '')}:${budget}}`;
  return { log: `${tag}:requests`, tokens: `${tag}:tokens`, paused: `${tag}:paused-until` };
}

/**
 * The provider budget shared by every process through Redis: a sliding log of the requests
 * sent in the last window with their token cost, and a pause that a 429 sets for everyone.
 * Commands reject when Redis cannot answer; ProviderRateLimiter decides what then.
 */
export class RedisRequestBudget {
  private readonly commands: BudgetCommands;
  private readonly keys: ReturnType<typeof budgetKeys>;

  constructor(
    redis: RedisConnection,
    prefix: string,
    budget: string,
    private readonly limits: WindowLimits,
  ) {
    this.keys = budgetKeys(prefix, budget);
    // The client may be shared by several budgets or apps: define each command once.
    if (!(redis as unknown as Partial<BudgetCommands>).providerBudgetAcquire) {
      redis.defineCommand('providerBudgetAcquire', { numberOfKeys: 3, lua: ACQUIRE_SCRIPT });
      redis.defineCommand('providerBudgetPause', { numberOfKeys: 1, lua: PAUSE_SCRIPT });
      redis.defineCommand('providerBudgetSettle', { numberOfKeys: 2, lua: SETTLE_SCRIPT });
    }
    this.commands = redis as unknown as BudgetCommands;
  }

  async tryAcquire(id: string, tokens: number): Promise<Admission> {
    const { log, tokens: total, paused } = this.keys;
    const { windowMs, maxRequests, maxTokens } = this.limits;
    const [granted, waitMs] = await this.commands.providerBudgetAcquire(
      log,
      total,
      paused,
      windowMs,
      maxRequests,
      maxTokens,
      tokens,
      id,
    );
    return granted === 1 ? { granted: true } : { granted: false, waitMs: Math.max(1, waitMs) };
  }

  async pause(ms: number): Promise<void> {
    await this.commands.providerBudgetPause(this.keys.paused, Math.max(1, Math.ceil(ms)));
  }

  async settle(id: string, charged: number, real: number): Promise<void> {
    if (charged === real || this.limits.maxTokens === 0) return;
    await this.commands.providerBudgetSettle(this.keys.log, this.keys.tokens, id, charged, real);
  }
}
