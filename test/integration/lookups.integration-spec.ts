import { randomUUID } from 'node:crypto';
import { TaskOwnershipRepository } from '../../src/auth/task-ownership.repository';
import { DatabaseHealthRepository } from '../../src/health/database-health.repository';
import type { PrismaService } from '../../src/prisma/prisma.service';
import { uniqueKb } from '../setup/helpers';
import { deleteKbTasks, insertTask, testPrisma } from '../setup/integration-db';
import { freePort } from '../setup/processes';

describe('TaskOwnershipRepository', () => {
  let prisma: PrismaService;
  const kb = uniqueKb('owner');

  beforeAll(() => {
    prisma = testPrisma();
  });

  afterAll(async () => {
    await deleteKbTasks(prisma, [kb]);
    await prisma.onApplicationShutdown();
  });

  it("names a task's knowledge base, and none for an unknown id", async () => {
    const ownership = new TaskOwnershipRepository(prisma);
    const id = await insertTask(prisma, { kbId: kb });
    expect(await ownership.kbOf(id)).toBe(kb);
    expect(await ownership.kbOf(randomUUID())).toBeNull();
  });
});

describe('DatabaseHealthRepository', () => {
  it('answers a ping from a reachable PostgreSQL', async () => {
    const prisma = testPrisma();
    try {
      await expect(new DatabaseHealthRepository(prisma).ping()).resolves.toBeUndefined();
    } finally {
      await prisma.onApplicationShutdown();
    }
  });

  it('rejects a ping when nothing listens at the database address', async () => {
    const prisma = testPrisma(`postgresql://postgres@127.0.0.1:${await freePort()}/nowhere`);
    try {
      await expect(new DatabaseHealthRepository(prisma).ping()).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await prisma.onApplicationShutdown();
    }
  });
});
