import { distribution, Distribution } from './stats';
import { nowMs, sleep } from './time';

export interface JsonResponse<T> {
  status: number;
  body: T;
  ms: number;
}

/** One JSON request with a timeout; the body is parsed whatever the status, for error reports. */
export async function requestJson<T>(
  url: string,
  init: { method?: string; body?: unknown; timeoutMs?: number } = {},
): Promise<JsonResponse<T>> {
  const started = nowMs();
  const response = await fetch(url, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers: init.body === undefined ? undefined : { 'content-type': 'application/json' },
    body: init.body === undefined ? undefined : typeof init.body === 'string' ? init.body : JSON.stringify(init.body),
    signal: AbortSignal.timeout(init.timeoutMs ?? 30_000),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy error page, say): keep the text.
  }
  return { status: response.status, body: body as T, ms: nowMs() - started };
}

export interface PacedResult {
  sent: number;
  ok: number;
  failed: number;
  /** What the failures were (status or error message → count), to say why in the report. */
  failures: Record<string, number>;
  achievedRate: number;
  latencyMs: Distribution;
}

/**
 * Open-loop load: starts `rate` requests per second for `seconds`, whether or not earlier ones
 * have answered (so a slow server faces a growing backlog instead of a politely slower client
 * — no coordinated omission). At most `maxInFlight` are outstanding; beyond that a tick's
 * requests are dropped and counted as failures, which keeps memory bounded.
 */
export async function runPaced(options: {
  rate: number;
  seconds: number;
  send: (index: number) => Promise<number>;
  maxInFlight?: number;
  onTick?: (elapsedSeconds: number) => void;
}): Promise<PacedResult> {
  const maxInFlight = options.maxInFlight ?? 1000;
  const total = Math.round(options.rate * options.seconds);
  const latencies: number[] = [];
  const failures: Record<string, number> = {};
  const pending = new Set<Promise<void>>();
  let sent = 0;
  let ok = 0;
  let lastTick = 0;
  const fail = (reason: string): void => {
    failures[reason] = (failures[reason] ?? 0) + 1;
  };
  const started = nowMs();
  while (sent < total) {
    const elapsed = (nowMs() - started) / 1000;
    const due = Math.min(total, Math.floor(elapsed * options.rate) + 1);
    for (; sent < due; sent++) {
      if (pending.size >= maxInFlight) {
        fail('dropped: too many requests in flight');
        continue;
      }
      const index = sent;
      const t0 = nowMs();
      const request: Promise<void> = options
        .send(index)
        .then((status) => {
          if (status >= 200 && status < 300) {
            ok++;
            latencies.push(nowMs() - t0);
          } else fail(`HTTP ${status}`);
        })
        .catch((error: unknown) => {
          fail(error instanceof Error && error.name === 'TimeoutError' ? 'timeout' : String(error));
        })
        .finally(() => pending.delete(request));
      pending.add(request);
    }
    if (options.onTick && Math.floor(elapsed) > lastTick) {
      lastTick = Math.floor(elapsed);
      options.onTick(lastTick);
    }
    // 2 ms granularity: fine enough for 200/s (one request per 5 ms) without spinning a core.
    await sleep(2);
  }
  const sendSeconds = (nowMs() - started) / 1000;
  await Promise.all(pending);
  return {
    sent,
    ok,
    failed: sent - ok,
    failures,
    achievedRate: Math.round(sent / Math.max(sendSeconds, 1e-3)),
    latencyMs: distribution(latencies),
  };
}
