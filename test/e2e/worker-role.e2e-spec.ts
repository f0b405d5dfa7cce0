import type { INestApplicationContext } from '@nestjs/common';
import { ModulesContainer, NestFactory } from '@nestjs/core';
import request from 'supertest';
import { AppModule } from '../../src/app.module';
import { AppRole } from '../../src/config/env.validation';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb, waitFor } from '../setup/test-app';

/** What a running app holds that only HTTP needs: controllers, APP_GUARD/PIPE/FILTER/INTERCEPTOR enhancers, the presenter. */
function httpParts(app: INestApplicationContext): { controllers: string[]; enhancers: string[]; presenters: string[] } {
  const modules = [...app.get(ModulesContainer).values()];
  const providerKeys = modules.flatMap((m) => [...m.providers.keys()]);
  return {
    controllers: modules.flatMap((m) => [...m.controllers.values()].map((wrapper) => wrapper.name)).sort(),
    enhancers: providerKeys.filter(
      (key): key is string => typeof key === 'string' && /^APP_(GUARD|PIPE|FILTER|INTERCEPTOR)\b/.test(key),
    ),
    presenters: modules
      .flatMap((m) => [...m.providers.values()].map((wrapper) => wrapper.name))
      .filter((name) => String(name).includes('Presenter')),
  };
}

/**
 * The roles of STYLE.md: the API role's module holds every controller, the worker role's
 * none. A worker-role context (what `APP_ROLE=worker` runs) next to an API-role app on the
 * same queues: the worker has nothing of HTTP, and still runs what the API queues.
 */
describe('Worker role (e2e)', () => {
  let api: TestApp;
  let worker: INestApplicationContext;
  const kb = uniqueKb('role');
  const previousRole = process.env.APP_ROLE;

  beforeAll(async () => {
    api = await createTestApp({}, AppRole.Api);
    // Same QUEUE_PREFIX as the API app (createTestApp left it in process.env).
    process.env.APP_ROLE = AppRole.Worker;
    worker = await NestFactory.createApplicationContext(AppModule.forRole(AppRole.Worker), {
      logger: ['error'],
      abortOnError: false,
    });
  });

  afterAll(async () => {
    await worker?.close();
    if (previousRole === undefined) delete process.env.APP_ROLE;
    else process.env.APP_ROLE = previousRole;
    await api.prisma.task.deleteMany({ where: { kbId: kb } });
    await api.close();
  });

  it('holds no controller, no HTTP enhancer and no presenter in the worker role', () => {
    expect(httpParts(worker)).toEqual({ controllers: [], enhancers: [], presenters: [] });
  });

  it('holds every controller and the HTTP enhancers in the API role', () => {
    const parts = httpParts(api.app);
    expect(parts.controllers).toEqual(
      expect.arrayContaining([
        'TasksController',
        'TaskBulkController',
        'TaskEventsController',
        'KbsController',
        'StatsController',
        'HealthController',
        'QueuesController',
        'DashboardController',
        'PrometheusController',
      ]),
    );
    // Two guards (rate limit, authorization), the validation pipe, the exception filter (HTTP
    // timings come from a Fastify onResponse hook, not an interceptor).
    expect(parts.enhancers).toHaveLength(4);
    expect(parts.presenters).toEqual(['TaskPresenterService']);
  });

  it('runs a task the API queued: the API role has no worker, so only the worker role can', async () => {
    const created = await request(api.http)
      .post('/api/v1/tasks')
      .send(taskRequest({ kb_id: kb, payload: { checks: ['database'] } }))
      .expect(201);
    const id = created.body.id as string;
    const done = await waitFor(
      () => api.prisma.task.findUniqueOrThrow({ where: { id } }),
      (task) => task.status === 'completed' || task.status === 'failed',
      { timeoutMs: 30000, what: `task ${id} to finish` },
    );
    expect(done.status).toBe('completed');
    expect(done.workerId).not.toBeNull();
  });
});
