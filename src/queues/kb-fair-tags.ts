import {
  BULLMQ_PRIORITY,
  PRIORITY_BAND_WIDTH,
  priorityBand,
  TASK_PRIORITIES,
  type TaskPriority,
  type TaskType,
} from '../task-types/task-types';
import type { RedisClient } from './redis-connection';

/** A job about to be dispatched, as far as its place in the queue goes. */
export interface FairTagRequest {
  kbId: string;
  priority: TaskPriority;
}

/**
 * Start-time fair queueing per priority band, computed inside Redis so every API process
 * (and the reconciler) agrees on one sequence.
 *
 * Each band has a virtual time: the tag of the first job waiting in it (the next one a worker
 * takes). A kb's next job is tagged max(its previous tag + 1, virtual time): a kb with a backlog
 * holds consecutive tags far ahead, a kb that arrives later starts at the virtual time, so its
 * jobs interleave one for one with the backlog instead of queueing behind it. The tag, offset
 * into the band, is the job's BullMQ priority; ties (same tag, different kbs) keep BullMQ's
 * arrival order.
 *
 * Tags restart from 0 (an epoch) whenever the band has nothing waiting, which also forgets the
 * kbs' previous tags. A band that never empties is rebased once its virtual time reaches
 * ARGV[2] (half the band): every job waiting in it, and every kb's last tag, moves down by the
 * virtual time (the job's score and the `priority` field of its hash, which BullMQ reads when
 * it re-adds a job), so the tags start again near 0 in the same order. O(jobs waiting in the
 * band), once per that many turns. A tag beyond the band's width is held at its last value:
 * those jobs still run, in arrival order, after every job of a lower tag (docs/scheduling.md).
 *
 * KEYS[1] the queue's prioritized set; KEYS[2..5] the band state hashes (field `:vt` is the
 * virtual time, every other field a kb's last tag; a kb id cannot start with `:`).
 * ARGV[1] the band width, ARGV[2] the virtual time that triggers a rebase; then a (rank, kb id)
 * pair per job. Returns each job's priority.
 */
const FAIR_TAGS_LUA = `
local prioritized = KEYS[1]
local width = tonumber(ARGV[1])
local rebaseAt = tonumber(ARGV[2])
local SHIFT = 4294967296
-- A job's hash key is its queue's key prefix plus its id, as the prioritized set's is plus 'prioritized'.
local jobPrefix = string.sub(prioritized, 1, #prioritized - #'prioritized')
local virtualTimes = {}
local priorities = {}

local function rebase(state, first, shift)
  local waiting = redis.call('ZRANGEBYSCORE', prioritized, first * SHIFT, (first + width) * SHIFT - 1, 'WITHSCORES')
  for j = 1, #waiting, 2 do
    local score = tonumber(waiting[j + 1])
    local priority = math.floor(score / SHIFT)
    local moved = math.max(first, priority - shift)
    redis.call('ZADD', prioritized, moved * SHIFT + (score - priority * SHIFT), waiting[j])
    redis.call('HSET', jobPrefix .. waiting[j], 'priority', moved)
  end
  local fields = redis.call('HGETALL', state)
  for j = 1, #fields, 2 do
    if fields[j] ~= ':vt' then
      local tag = tonumber(fields[j + 1]) - shift
      if tag < 0 then redis.call('HDEL', state, fields[j]) else redis.call('HSET', state, fields[j], tag) end
    end
  end
end

for i = 3, #ARGV, 2 do
  local rank = tonumber(ARGV[i])
  local kb = ARGV[i + 1]
  local state = KEYS[1 + rank]
  local first = (rank - 1) * width + 1
  local vt = virtualTimes[rank]
  if vt == nil then
    local head = redis.call('ZRANGEBYSCORE', prioritized, first * SHIFT, (first + width) * SHIFT - 1, 'WITHSCORES', 'LIMIT', 0, 1)
    if #head == 0 then
      redis.call('DEL', state)
      vt = 0
    else
      local headTag = math.floor(tonumber(head[2]) / SHIFT) - first
      vt = math.max(tonumber(redis.call('HGET', state, ':vt') or '0'), headTag)
      if vt >= rebaseAt then
        rebase(state, first, vt)
        vt = 0
      end
    end
    redis.call('HSET', state, ':vt', vt)
    virtualTimes[rank] = vt
  end
  local last = redis.call('HGET', state, kb)
  local tag = vt
  if last then tag = math.max(tonumber(last) + 1, vt) end
  redis.call('HSET', state, kb, tag)
  priorities[#priorities + 1] = first + math.min(tag, width - 1)
end
return priorities
`;

const COMMAND = 'taskManagerFairTags';

type FairTagsCommand = (
  prioritized: string,
  critical: string,
  high: string,
  normal: string,
  low: string,
  ...args: (string | number)[]
) => Promise<number[]>;

/**
 * The BullMQ priority of each job to dispatch: its kb's fair tag within its priority's band
 * (`fair`), or the band's first value for every job (plain FIFO within a priority, what
 * KB_FAIR_DISPATCH=false selects to compare against).
 */
export class KbFairTags {
  private readonly command: FairTagsCommand;

  constructor(
    redis: RedisClient,
    private readonly prefix: string,
    readonly fair: boolean,
    /** The virtual time at which a band that never empties is rebased; lower only in tests. */
    private readonly rebaseAt = PRIORITY_BAND_WIDTH / 2,
  ) {
    redis.defineCommand(COMMAND, { numberOfKeys: 1 + TASK_PRIORITIES.length, lua: FAIR_TAGS_LUA });
    const bound = (redis as unknown as Record<string, FairTagsCommand>)[COMMAND];
    this.command = bound.bind(redis);
  }

  /** One round trip for a whole group of the same queue, in the order given. */
  async priorities(taskType: TaskType, prioritizedKey: string, jobs: FairTagRequest[]): Promise<number[]> {
    if (!this.fair || jobs.length === 0) return jobs.map((job) => priorityBand(job.priority).first);
    const [critical, high, normal, low] = ([1, 2, 3, 4] as const).map((rank) => this.stateKey(taskType, rank));
    const args = jobs.flatMap((job) => [BULLMQ_PRIORITY[job.priority], job.kbId]);
    const priorities = await this.command(
      prioritizedKey,
      critical,
      high,
      normal,
      low,
      PRIORITY_BAND_WIDTH,
      this.rebaseAt,
      ...args,
    );
    return priorities.map(Number);
  }

  /** Under the queue prefix, so in cluster mode ({prefix}) it shares the queue's hash slot. */
  private stateKey(taskType: TaskType, rank: number): string {
    return `${this.prefix}:fair:${taskType}:${rank}`;
  }
}
