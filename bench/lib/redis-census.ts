import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Redis from 'ioredis';
import { round } from './stats';
import { sleep } from './time';

export interface RedisCensus {
  tasks: number;
  /** Commands our processes sent to Redis per task: each is one round trip (or one slot of a pipeline). */
  round_trips_per_task: number | null;
  /** Commands BullMQ's Lua scripts ran inside Redis per task (no round trip, but Redis CPU). */
  lua_commands_per_task: number | null;
  /** The commands sent, per task, most frequent first; EVALSHA labelled with the BullMQ scripts it can be. */
  sent: { command: string; per_task: number | null }[];
}

/**
 * BullMQ names its Lua scripts `<name>-<number of keys>.lua`; an EVALSHA's key count
 * therefore narrows down which script it ran.
 */
function bullmqScriptsByKeyCount(): Map<number, string[]> {
  const byKeys = new Map<number, string[]>();
  try {
    const dir = join(dirname(require.resolve('bullmq/package.json')), 'dist', 'cjs', 'commands');
    for (const file of readdirSync(dir)) {
      const match = /^(.+)-(\d+)\.lua$/.exec(file);
      if (match) byKeys.set(Number(match[2]), [...(byKeys.get(Number(match[2])) ?? []), match[1]]);
    }
  } catch {
    // Without the names the census still counts; it only labels less.
  }
  return byKeys;
}

/**
 * Counts, with MONITOR, the Redis commands that touch our keys (the queue prefix) while
 * `work` runs a small number of tasks through the service. MONITOR slows Redis down, so it
 * runs on its own small sample after the timed measurement, never during it; filtering on
 * the prefix keeps other users of the shared Redis out of the count.
 */
export async function redisCensus(redisUrl: string, prefix: string, work: () => Promise<number>): Promise<RedisCensus> {
  const scripts = bullmqScriptsByKeyCount();
  const sent = new Map<string, number>();
  let lua = 0;
  let total = 0;
  const base = new Redis(redisUrl, { lazyConnect: false });
  const monitor = await base.monitor();
  // Another client's traffic on the same server has made ioredis's MONITOR parsing fail
  // ("Command queue state error"): the census fails with that reason instead of the process.
  let monitorError: Error | null = null;
  monitor.on('error', (error: Error) => (monitorError ??= error));
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (!args.some((arg) => arg.includes(prefix))) return;
    if (source === 'lua') {
      lua++;
      return;
    }
    total++;
    let command = args[0].toLowerCase();
    if (command === 'evalsha' || command === 'eval') {
      const keys = Number(args[2]);
      const names = scripts.get(keys) ?? [];
      command = `${command} ${keys} keys${names.length ? ` (${names.slice(0, 3).join('|')}${names.length > 3 ? '|…' : ''})` : ''}`;
    }
    sent.set(command, (sent.get(command) ?? 0) + 1);
  });
  let tasks = 0;
  try {
    tasks = await work();
    // MONITOR lines trail the commands slightly.
    await sleep(300);
  } finally {
    monitor.disconnect();
    base.disconnect();
  }
  const failure = monitorError as Error | null;
  if (failure)
    throw new Error(`Redis census (MONITOR) failed: ${failure.message}; is another service using this Redis?`);
  const per = (n: number) => round(n / Math.max(tasks, 1), 2);
  return {
    tasks,
    round_trips_per_task: per(total),
    lua_commands_per_task: per(lua),
    sent: [...sent.entries()].sort((a, b) => b[1] - a[1]).map(([command, n]) => ({ command, per_task: per(n) })),
  };
}
