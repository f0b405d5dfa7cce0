import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { Prisma } from '../../src/generated/prisma/client';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

type Body = Record<string, any>;

const at = (iso: string) => new Date(iso);

/**
 * The richer list filters (time ranges, parent, document, error text) and the throughput
 * time series, on finished tasks written straight to the database, plus a check that each
 * filter has an index the planner can use.
 */
describe('Task search and time series (e2e)', () => {
  let t: TestApp;
  const kb = uniqueKb('search');
  const token = kb.slice(-8);
  const docA = '11111111-1111-4111-8111-111111111111';
  const docB = `22222222-2222-4222-8222-${token.padStart(12, '0')}`;
  const ids: Record<string, string> = {};

  const list = async (query: Record<string, string>): Promise<string[]> => {
    const res = await request(t.http)
      .get('/api/v1/tasks')
      .query({ kb_id: kb, sort_by: 'created_at', sort_order: 'asc', ...query })
      .expect(200);
    const names = Object.fromEntries(Object.entries(ids).map(([name, id]) => [id, name]));
    return res.body.tasks.map((task: Body) => names[task.id]);
  };
  const insert = async (name: string, data: Partial<Prisma.TaskUncheckedCreateInput>) => {
    const row = await t.prisma.task.create({
      data: { taskType: 'health_check', kbId: kb, status: 'completed', payload: {}, ...data },
    });
    ids[name] = row.id;
    return row;
  };

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    const parent = await insert('parent', {
      createdAt: at('2026-01-01T10:00:00Z'),
      completedAt: at('2026-01-01T10:05:00Z'),
      payload: { document_id: docA },
    });
    await insert('timeout', {
      status: 'failed',
      createdAt: at('2026-01-02T09:00:00Z'),
      completedAt: at('2026-01-02T09:01:00Z'),
      errorMessage: `Connection TIMEOUT talking to upstream ${token}`,
    });
    await insert('child', {
      status: 'cancelled',
      createdAt: at('2026-01-03T09:00:00Z'),
      completedAt: at('2026-01-03T09:00:01Z'),
      parentId: parent.id,
    });
    await insert('payloadDoc', {
      createdAt: at('2026-01-04T09:00:00Z'),
      completedAt: at('2026-01-04T09:30:00Z'),
      taskType: 'embedding_generation',
      payload: { document_id: docB },
    });
    // Its document is only known from its result, written when it completes.
    const late = await insert('resultDoc', {
      status: 'processing',
      createdAt: at('2026-01-05T09:00:00Z'),
      payload: { file_path: 'a.txt' },
      taskType: 'document_processing',
    });
    await t.prisma.task.update({
      where: { id: late.id },
      data: {
        status: 'completed',
        completedAt: at('2026-01-05T09:10:00Z'),
        result: { document_id: docB, chunk_count: 3 },
      },
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('filters by creation and completion time ranges: [after, before)', async () => {
    expect(await list({ created_after: '2026-01-02T09:00:00Z', created_before: '2026-01-04T09:00:00Z' })).toEqual([
      'timeout',
      'child',
    ]);
    expect(await list({ completed_after: '2026-01-01T10:00:00Z', completed_before: '2026-01-01T11:00:00Z' })).toEqual([
      'parent',
    ]);
    expect(await list({ completed_after: '2026-01-04T00:00:00Z' })).toEqual(['payloadDoc', 'resultDoc']);
  });

  it("filters by parent, by the payload's or result's document_id, and by error text (case-insensitive)", async () => {
    expect(await list({ parent_id: ids.parent })).toEqual(['child']);
    expect(await list({ document_id: docA })).toEqual(['parent']);
    expect(await list({ document_id: docB })).toEqual(['payloadDoc', 'resultDoc']);
    expect(await list({ error_contains: `timeout TALKING to upstream ${token}` })).toEqual(['timeout']);
    // Across knowledge bases too: the error text alone finds it.
    const res = await request(t.http).get('/api/v1/tasks').query({ error_contains: token }).expect(200);
    expect(res.body.tasks.map((task: Body) => task.id)).toEqual([ids.timeout]);
    expect(await list({ error_contains: 'no such error anywhere', status: 'failed' })).toEqual([]);
  });

  it('refuses malformed filters', async () => {
    for (const query of [
      { parent_id: 'not-a-uuid' },
      { created_after: 'yesterday' },
      { completed_before: '2026-13-01' },
      { error_contains: '' },
    ]) {
      const res = await request(t.http).get('/api/v1/tasks').query(query).expect(400);
      expect(Object.keys(res.body.details.fields)).toEqual(Object.keys(query));
    }
  });

  it('serves each filter from an index', async () => {
    const plans = await t.prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SET LOCAL enable_seqscan = off');
      const explain = async (where: string) =>
        JSON.stringify(await tx.$queryRawUnsafe(`EXPLAIN (FORMAT JSON) SELECT id FROM tasks WHERE ${where}`));
      return {
        error: await explain(`error_message ILIKE '%timeout talking%'`),
        document: await explain(`document_id = '${docB}'`),
        parent: await explain(`parent_id = '${ids.parent}'`),
        completed: await explain(`completed_at >= '2026-01-01' AND completed_at < '2026-01-02'`),
        created: await explain(`kb_id = '${kb}' AND created_at >= '2026-01-01'`),
        kbSeries: await explain(`kb_id = '${kb}' AND completed_at >= now() - interval '1 hour'`),
      };
    });
    expect(plans.error).toContain('tasks_error_message_trgm_idx');
    expect(plans.document).toContain('tasks_document_id_idx');
    expect(plans.parent).toContain('tasks_parent_id_idx');
    expect(plans.completed).toContain('tasks_completed_at_idx');
    // At the few rows a test kb has, the kb indexes all cost the same, and which one a tie goes
    // to changes with the table's index list (and its statistics): an index on kb_id it is.
    expect(plans.created).toMatch(/tasks_kb_id_(status_)?created_at_idx/);
    expect(plans.kbSeries).toMatch(/tasks_kb_id_(completed_at|created_at|status_created_at)_idx/);
  });

  it('counts finished tasks per minute for the throughput chart, empty minutes included', async () => {
    const seriesKb = uniqueKb('series');
    const now = Date.now();
    const twoAgo = new Date(now - 2 * 60_000);
    const oneAgo = new Date(now - 60_000);
    await t.prisma.task.createMany({
      data: [
        ...[twoAgo, twoAgo, oneAgo].map((completedAt) => ({
          taskType: 'health_check' as const,
          kbId: seriesKb,
          status: 'completed' as const,
          payload: {},
          completedAt,
        })),
        { taskType: 'health_check', kbId: seriesKb, status: 'failed', payload: {}, completedAt: twoAgo },
        { taskType: 'health_check', kbId: seriesKb, status: 'cancelled', payload: {}, completedAt: oneAgo },
      ],
    });
    const res = await request(t.http)
      .get('/api/v1/stats/timeseries')
      .query({ kb_id: seriesKb, bucket: 'minute', buckets: 5 })
      .expect(200);
    expect(res.body).toMatchObject({ kb_id: seriesKb, bucket: 'minute' });
    expect(res.body.points).toHaveLength(5);
    const minute = (date: Date) => new Date(Math.floor(date.getTime() / 60_000) * 60_000).toISOString();
    const point = (date: Date) => res.body.points.find((p: Body) => p.at === minute(date));
    expect(point(twoAgo)).toEqual({ at: minute(twoAgo), completed: 2, failed: 1, cancelled: 0 });
    expect(point(oneAgo)).toEqual({ at: minute(oneAgo), completed: 1, failed: 0, cancelled: 1 });
    const total = res.body.points.reduce((sum: number, p: Body) => sum + p.completed + p.failed + p.cancelled, 0);
    expect(total).toBe(5);
    const starts = res.body.points.map((p: Body) => Date.parse(p.at));
    expect(starts.slice(1).map((s: number, i: number) => s - starts[i])).toEqual([60_000, 60_000, 60_000, 60_000]);

    await request(t.http).get('/api/v1/stats/timeseries').query({ bucket: 'week' }).expect(400);
  });
});
