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
 * kbs' previous tags. A tag beyond the band's width is held at its last value: those jobs still
 * run, in arrival order, after every job of a lower tag (see docs/scheduling.md).
 *
 * KEYS[1] the queue's prioritized set; KEYS[2..5] the band state hashes (field `:vt` is the
 * virtual time, every other field a kb's last tag; a kb id cannot start with `:`).
 * ARGV[1] the band width; then a (rank, kb id) pair per job. Returns each job's priority.
 */
const FAIR_TAGS_LUA = `
local prioritized = KEYS[1]
local width = tonumber(ARGV[1])
local SHIFT = 4294967296
local virtualTimes = {}
local priorities = {}
for i = 2, #ARGV, 2 do
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
    const priorities = await this.command(prioritizedKey, critical, high, normal, low, PRIORITY_BAND_WIDTH, ...args);
    return priorities.map(Number);
  }

  /** Under the queue prefix, so in cluster mode ({prefix}) it shares the queue's hash slot. */
  private stateKey(taskType: TaskType, rank: number): string {
    return `${this.prefix}:fair:${taskType}:${rank}`;
  }
}
