import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import { Client } from 'pg';
import { createThroughApis, ServiceProcess, startService } from '../setup/processes';
import { deleteRedisKeys, uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL, TEST_REDIS_URL } from '../setup/test-env';

const TASKS = 10_000;
const BATCH = 500;
const CONCURRENCY = 50;

/**
 * The deployment shape in miniature: two API processes and three worker processes on one
 * PostgreSQL and one Redis. 10,000 tasks go in through both APIs; one worker is SIGKILLed
 * mid-run. Every task must end completed, once.
 */
describe('Two APIs, three workers, one killed (e2e)', () => {
  const prefix = `tmmulti_${randomBytes(3).toString('hex')}`;
  const kb = uniqueKb('multi');
  const processes: ServiceProcess[] = [];
  const db = new Client({ connectionString: TEST_DATABASE_URL });
  const redis = new Redis(TEST_REDIS_URL);

  beforeAll(async () => {
    await db.connect();
    const env = {
      QUEUE_PREFIX: prefix,
      WORKER_CONCURRENCY: String(CONCURRENCY),
      // Long enough that a loaded machine does not stall healthy jobs (which would re-run
      // them legitimately but blur what this test counts); the killed worker's jobs come back after it.
      WORKER_LOCK_DURATION_MS: '8000',
      WORKER_STALLED_INTERVAL_MS: '2000',
      WORKER_HEARTBEAT_MS: '200',
      RECONCILE_INTERVAL_MS: '2000',
      LOG_LEVEL: 'log',
      // Five processes share PostgreSQL's 100 connections with the other tests.
      DATABASE_POOL_SIZE: '10',
    };
    processes.push(
      ...(await Promise.all([
        startService('api', env),
        startService('api', env),
        startService('worker', env),
        startService('worker', env),
        startService('worker', env),
      ])),
    );
  }, 60000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await db.end();
    redis.disconnect();
    await deleteRedisKeys(prefix);
  });

  const statusCounts = async () => {
    const { rows } = await db.query<{ status: string; n: string }>(
      'SELECT status, count(*) AS n FROM tasks WHERE kb_id = $1 GROUP BY status',
      [kb],
    );
    return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)])) as Record<string, number>;
  };
  const workerSnapshots = async () => {
    const ids = await redis.smembers(`${prefix}:workers`);
    const values = ids.length ? await redis.mget(ids.map((id) => `${prefix}:worker:${id}`)) : [];
    return values
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as { id: string; pid: number; tasks_succeeded: number });
  };

  it('completes all 10,000 tasks exactly once although a worker is killed mid-run', async () => {
    const [apiA, apiB, victim] = processes;
    // Paused while the tasks go in, so the kill lands mid-run however fast the workers are:
    // unpaused, they finished all 10,000 before the 30 % poll noticed on a quiet machine.
    const queueControl = (action: 'pause' | 'resume') =>
      fetch(`${apiA.url}/api/v1/queues/health_check/${action}`, { method: 'POST' });
    expect((await queueControl('pause')).status).toBe(200);
    const started = Date.now();
    await createThroughApis([apiA, apiB], kb, TASKS, BATCH);

    expect((await queueControl('resume')).status).toBe(200);

    await waitFor(statusCounts, (c) => (c.completed ?? 0) >= TASKS * 0.3, {
      timeoutMs: 120000,
      intervalMs: 20,
      what: '30% completed',
    });
    const victimSnapshot = (await workerSnapshots()).find((w) => w.pid === victim.child.pid);
    await victim.stop('SIGKILL');
    const killedAt = await statusCounts();
    // The fault must land while there is work left, or this test proves nothing about it.
    expect(killedAt.completed ?? 0).toBeLessThan(TASKS);

    const final = await waitFor(statusCounts, (c) => c.completed === TASKS, {
      timeoutMs: 180000,
      intervalMs: 250,
      what: 'all tasks completed',
    });
    const seconds = (Date.now() - started) / 1000;
    expect(final).toEqual({ completed: TASKS });

    const { rows } = await db.query<{ reruns: string; max_attempt: number; distinct_ids: string }>(
      'SELECT count(*) FILTER (WHERE attempt > 1) AS reruns, max(attempt) AS max_attempt, count(DISTINCT id) AS distinct_ids FROM tasks WHERE kb_id = $1',
      [kb],
    );
    // Only what the killed worker was running can have run twice.
    expect(Number(rows[0].reruns)).toBeLessThanOrEqual(CONCURRENCY);
    expect(Number(rows[0].distinct_ids)).toBe(TASKS);

    // Completions counted by the handlers themselves must match PostgreSQL worker by worker: a
    // task recorded twice, or a handler's completion left unrecorded, would break the equality.
    // Survivors keep heartbeating, so theirs must become exact; the killed worker's last
    // heartbeat is older than its last completions, so it can only be behind.
    // By worker id, not by kb: a worker counts every task it completes, and this test's
    // reconcilers may also dispatch a task another test file left queued in the shared database.
    const completedBy = async () => {
      const result = await db.query<{ worker_id: string; n: string }>(
        "SELECT worker_id, count(*) AS n FROM tasks WHERE worker_id = ANY($1) AND status = 'completed' GROUP BY worker_id",
        [(await workerSnapshots()).map((w) => w.id).concat(victimSnapshot ? [victimSnapshot.id] : [])],
      );
      return new Map(result.rows.map((r) => [r.worker_id, Number(r.n)]));
    };
    const inDatabase = await completedBy();
    const survivors = await waitFor(
      async () => (await workerSnapshots()).filter((w) => w.pid !== victim.child.pid),
      (ws) => ws.length === 2 && ws.every((w) => w.tasks_succeeded === (inDatabase.get(w.id) ?? 0)),
      { timeoutMs: 15000, what: `survivors' heartbeats to match PostgreSQL (${JSON.stringify([...inDatabase])})` },
    );
    const victimInDatabase = victimSnapshot ? (inDatabase.get(victimSnapshot.id) ?? 0) : 0;
    // Shown when an expectation below fails, to tell which side is off.
    const diagnosis = {
      inDatabase: [...inDatabase],
      victim: victimSnapshot?.id,
      victimHeartbeat: victimSnapshot?.tasks_succeeded,
    };
    if ((victimSnapshot?.tasks_succeeded ?? 0) > victimInDatabase)
      console.log('[diagnosis]', JSON.stringify(diagnosis));
    expect(victimSnapshot?.tasks_succeeded ?? 0).toBeLessThanOrEqual(victimInDatabase);
    const handlerCompletions = survivors.reduce((s, w) => s + w.tasks_succeeded, 0) + victimInDatabase;
    const recordedCompletions = [...inDatabase.values()].reduce((s, n) => s + n, 0);
    expect(handlerCompletions).toBe(recordedCompletions);
    expect(recordedCompletions).toBeGreaterThanOrEqual(TASKS); // this kb's, plus any stray task of another test
    console.log(
      `[faults] 2 APIs + 3 workers: ${TASKS} tasks in ${seconds.toFixed(1)} s, 1 worker SIGKILLed at ${killedAt.completed ?? 0} completed, ` +
        `completed ${final.completed}, lost 0, re-run after the kill ${rows[0].reruns}, survivors' handler completions equal PostgreSQL's per worker`,
    );
  }, 240000);
});
