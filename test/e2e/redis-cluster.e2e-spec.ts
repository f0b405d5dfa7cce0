import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createThroughApis, ServiceProcess, startRedisCluster, startService } from '../setup/processes';
import { uniqueKb, waitFor } from '../setup/test-app';
import { TEST_DATABASE_URL } from '../setup/test-env';

const TASKS = 5000;
const BATCH = 500;

/**
 * Scale-out on Redis Cluster: a local 3-master cluster, two API and two worker processes
 * configured with REDIS_CLUSTER_NODES; 5,000 tasks must each complete exactly once.
 */
describe('Redis Cluster: two APIs, two workers (e2e)', () => {
  const kb = uniqueKb('cluster');
  const db = new Client({ connectionString: TEST_DATABASE_URL });
  const processes: ServiceProcess[] = [];
  let cluster: Awaited<ReturnType<typeof startRedisCluster>>;

  beforeAll(async () => {
    await db.connect();
    cluster = await startRedisCluster(3);
    const env = {
      REDIS_URL: `redis://127.0.0.1:${cluster.ports[0]}`,
      REDIS_CLUSTER_NODES: cluster.ports.map((p) => `127.0.0.1:${p}`).join(','),
      QUEUE_PREFIX: `tmcluster_${randomBytes(3).toString('hex')}`,
      DATABASE_POOL_SIZE: '10',
    };
    processes.push(
      ...(await Promise.all([
        startService('api', env),
        startService('api', env),
        startService('worker', env),
        startService('worker', env),
      ])),
    );
  }, 90000);

  afterAll(async () => {
    await Promise.all(processes.map((p) => p.stop('SIGKILL')));
    await cluster?.stop();
    await db.end();
  });

  it('completes 5,000 tasks exactly once', async () => {
    const [apiA, apiB] = processes;
    const started = Date.now();
    await createThroughApis([apiA, apiB], kb, TASKS, BATCH);
    const count = async () =>
      (
        await db.query<{ status: string; n: string; attempts: string }>(
          'SELECT status, count(*) AS n, sum(attempt) AS attempts FROM tasks WHERE kb_id = $1 GROUP BY status',
          [kb],
        )
      ).rows;
    const rows = await waitFor(
      count,
      (r) => r.length === 1 && r[0].status === 'completed' && Number(r[0].n) === TASKS,
      {
        timeoutMs: 150000,
        intervalMs: 250,
        what: 'all tasks completed',
      },
    );
    // Outcomes are exactly once (one completion each, guarded in SQL); executions are at
    // least once — a job whose lock lapsed on a loaded machine may run again — so they are reported.
    const executions = Number(rows[0].attempts);
    const health = await (await fetch(`${apiA.url}/health`)).json();
    expect(health.details.redis.status).toBe('healthy');
    console.log(
      `[cluster] 3-node Redis Cluster, 2 APIs + 2 workers: ${TASKS} tasks completed exactly once in ${((Date.now() - started) / 1000).toFixed(1)} s (${executions - TASKS} re-executions)`,
    );
  }, 200000);
});
