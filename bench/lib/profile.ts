import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { round } from './stats';

/** The parts of a V8 `.cpuprofile` (what `node --cpu-prof` writes) the summary reads. */
interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface CpuProfile {
  nodes: { id: number; callFrame: Frame; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  file: string;
  /** The load window summarised, in CLOCK_MONOTONIC µs (to summarise the file again the same way). */
  fromMicros: number;
  toMicros: number;
  /** Milliseconds of samples inside the window, and how many of those the process was busy (not idle). */
  windowMs: number;
  busyMs: number;
  /** Busy time by area, in ms and % of busy time, largest first. */
  categories: { category: string; ms: number; percent: number }[];
  /** Functions with the most self time, in ms and % of busy time. */
  top: { function: string; where: string; category: string; ms: number; percent: number }[];
}

/**
 * Where a frame's self time goes, by the package its script belongs to. The order matters:
 * the first match wins, so the generated Prisma client counts as Prisma, not as our code.
 * The only WebAssembly in the service is Prisma's query compiler, so wasm:// frames are Prisma's.
 */
const CATEGORY_RULES: [RegExp, string][] = [
  [/\/(@prisma|prisma)\/|\/generated\/prisma\/|^wasm:\/\//, 'Prisma (client, query compiler, adapter)'],
  [
    /\/node_modules\/(pg|pg-protocol|pg-pool|pg-types|pgpass|postgres-[a-z-]+)\//,
    'pg driver (socket writes, protocol, rows)',
  ],
  [/\/node_modules\/bullmq\//, 'BullMQ'],
  [
    /\/node_modules\/(ioredis|redis-parser|@ioredis|denque|cluster-key-slot|standard-as-callback)\//,
    'ioredis (Redis protocol)',
  ],
  [
    /\/node_modules\/(class-validator|class-transformer|validator|libphonenumber-js)\//,
    'validation (class-validator/-transformer)',
  ],
  [/\/node_modules\/(@nestjs|rxjs|reflect-metadata)\//, 'Nest pipeline (+ rxjs)'],
  [
    /\/node_modules\/(fastify|@fastify|find-my-way|avvio|light-my-request|fast-querystring|fast-json-stringify|fast-decode-uri-component|toad-cache|abstract-logging|process-warning|rfdc|secure-json-parse|ret|safe-regex2|fastq|reusify)\//,
    'Fastify (router, hooks, replies)',
  ],
  [
    /\/node_modules\/(express|body-parser|router|raw-body|iconv-lite|finalhandler|on-finished|qs|send|type-is|content-type|helmet|path-to-regexp|depd|mime-types|negotiator|accepts|statuses|vary|etag|fresh|cookie|setprototypeof|http-errors|media-typer|bytes)\//,
    'express + body parsing',
  ],
  [/\/node_modules\/prom-client\//, 'prom-client (metrics)'],
  [/\/node_modules\/(@swc|@swc-node|source-map-support|pirates)\//, 'swc (on-the-fly compile)'],
  [/\/node_modules\//, 'other node_modules'],
  [/\/(src|dist)\//, 'task-manager code (src/)'],
  [/^node:(_http|http|net|stream|internal\/streams|internal\/http|_stream)/, 'Node http/net/streams'],
  [/^node:internal\/(timers|process\/task_queues|async_hooks)|^node:timers/, 'Node timers/async hooks'],
  [/^node:/, 'Node core (other)'],
];

const JSON_FUNCTIONS = new Set(['parse', 'stringify', 'JSONParse', 'JSONStringify', 'JsonParse', 'JsonStringify']);

/**
 * A frame's area. Native frames (no script URL: socket writes, promise jobs, regexps, …) are
 * charged to the nearest JavaScript caller's area — a `writev` under pg's Query.submit is pg's
 * cost of sending a query — except JSON, GC and the idle/program pseudo-frames, which are
 * areas of their own.
 */
function categorize(frame: Frame, callerUrl: string | null): string {
  const { functionName, url } = frame;
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (functionName === '(program)') return 'V8/native (unattributed)';
  if (url === '' && JSON_FUNCTIONS.has(functionName)) return 'JSON parse/stringify';
  const effective = url || callerUrl;
  if (!effective) return 'V8/native (unattributed)';
  for (const [pattern, category] of CATEGORY_RULES) if (pattern.test(effective)) return category;
  return 'other';
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + '/node_modules/'.length);
  const src = url.search(/\/(src|dist)\//);
  return src >= 0 ? url.slice(src + 1) : url.replace(/^file:\/\//, '');
}

/**
 * Self time per function and per area for the samples taken inside [fromMicros, toMicros]
 * (CLOCK_MONOTONIC µs, the clock V8 stamps samples with and `process.hrtime` reads), so a
 * profile of a whole process life reports only the load window, not start-up.
 */
export function summarizeProfile(file: string, fromMicros: number, toMicros: number, topN = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  /**
   * Script of the nearest caller outside Node's own modules (else the nearest inside them),
   * for charging native frames: a socket write belongs to whoever asked Node to write.
   */
  const callerUrl = (id: number): string | null => {
    let internal: string | null = null;
    for (let cur = parentOf.get(id); cur !== undefined; cur = parentOf.get(cur)) {
      const url = byId.get(cur)!.callFrame.url;
      if (url && !url.startsWith('node:')) return url;
      internal ??= url || null;
    }
    return internal;
  };
  const selfMicros = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i];
    // A sample stands for the time until the next one.
    const span = profile.timeDeltas[i + 1] ?? 0;
    if (t < fromMicros || t > toMicros) continue;
    selfMicros.set(profile.samples[i], (selfMicros.get(profile.samples[i]) ?? 0) + span);
  }
  const byFunction = new Map<string, { function: string; where: string; category: string; micros: number }>();
  const byCategory = new Map<string, number>();
  let windowMicros = 0;
  for (const [id, micros] of selfMicros) {
    const frame = byId.get(id)!.callFrame;
    const caller = frame.url ? null : callerUrl(id);
    const category = categorize(frame, caller);
    windowMicros += micros;
    byCategory.set(category, (byCategory.get(category) ?? 0) + micros);
    const name = frame.functionName || '(anonymous)';
    const where = frame.url
      ? `${shortUrl(frame.url)}:${frame.lineNumber + 1}`
      : caller
        ? `native, called from ${shortUrl(caller)}`
        : '';
    const key = `${name}@${where}`;
    const entry = byFunction.get(key) ?? { function: name, where, category, micros: 0 };
    entry.micros += micros;
    byFunction.set(key, entry);
  }
  const idle = byCategory.get('idle') ?? 0;
  const busy = Math.max(windowMicros - idle, 1);
  const pct = (micros: number) => round((micros / busy) * 100, 1) ?? 0;
  return {
    file,
    fromMicros,
    toMicros,
    windowMs: round(windowMicros / 1000, 0) ?? 0,
    busyMs: round(busy / 1000, 0) ?? 0,
    categories: [...byCategory.entries()]
      .filter(([category]) => category !== 'idle')
      .sort((a, b) => b[1] - a[1])
      .map(([category, micros]) => ({ category, ms: round(micros / 1000, 0) ?? 0, percent: pct(micros) })),
    top: [...byFunction.values()]
      .filter((f) => f.category !== 'idle')
      .sort((a, b) => b.micros - a.micros)
      .slice(0, topN)
      .map((f) => ({
        function: f.function,
        where: f.where,
        category: f.category,
        ms: round(f.micros / 1000, 0) ?? 0,
        percent: pct(f.micros),
      })),
  };
}

/** The profile a process with this pid wrote into `dir` (V8 names it CPU.<date>.<time>.<pid>.<tid>.<seq>.cpuprofile). */
export function profileOf(dir: string, pid: number): string | null {
  const name = readdirSync(dir).find((f) => f.endsWith('.cpuprofile') && f.split('.')[3] === String(pid));
  return name ? join(dir, name) : null;
}
