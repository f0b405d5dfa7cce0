/// <reference lib="dom" />
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BrowserContext, chromium, Page } from 'playwright-core';
import request from 'supertest';
import { taskRequest } from '../factories/task.factory';
import { createTestApp, TestApp, uniqueKb } from '../setup/test-app';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const haveBrowser = existsSync(CHROMIUM);
if (!haveBrowser)
  console.warn(`Skipping the dashboard browser test: ${CHROMIUM} is not installed (apt-get install -y chromium).`);

/**
 * The dashboard in a real browser: a person creates a task on the page and watches it
 * finish without reloading (live through SSE), cancels a running one, opens a task's
 * detail, and acts in bulk; the page is screenshotted and must not be blank.
 */
(haveBrowser ? describe : describe.skip)('Dashboard in a browser (e2e)', () => {
  let t: TestApp;
  let base: string;
  let context: BrowserContext;
  let page: Page;
  let profile: string;
  const problems: string[] = [];
  const kb = uniqueKb('dashboard');

  const statusOf = (id: string) => page.locator(`tr[data-task-id="${id}"] .status`);
  const createFromPage = async (payload: Record<string, unknown>): Promise<string> => {
    await page.fill('#create-kb', kb);
    await page.fill('#create-payload', JSON.stringify(payload));
    const previous = await page.getAttribute('#create-result', 'data-task-id');
    await page.click('#create-submit');
    await page.waitForFunction((before) => {
      const id = document.querySelector('#create-result')?.getAttribute('data-task-id');
      return id && id !== before;
    }, previous);
    return (await page.getAttribute('#create-result', 'data-task-id'))!;
  };

  beforeAll(async () => {
    t = await createTestApp();
    await t.app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(t.app.getHttpServer().address() as AddressInfo).port}`;
    profile = mkdtempSync(join(tmpdir(), 'tm-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 1400 },
    });
    page = await context.newPage();
    page.setDefaultTimeout(15000);
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => message.type() === 'error' && problems.push(`console: ${message.text()}`));
    page.on('dialog', (dialog) => void dialog.accept());
  });

  afterAll(async () => {
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await t.prisma.task.updateMany({
      where: { kbId: kb, status: { in: ['queued', 'processing'] } },
      data: { status: 'cancelled' },
    });
    await t.close();
  });

  it('creates a task from the page and shows it completing live, without a reload', async () => {
    await page.goto(`${base}/dashboard`);
    await page.waitForSelector('body[data-ready="true"]');
    await page.fill('#filters [name=kb_id]', kb);
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelector('#live')?.textContent === 'live');
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    const id = await createFromPage({ samples: 6, interval_ms: 250 });
    await statusOf(id).filter({ hasText: 'processing' }).waitFor();
    await statusOf(id).filter({ hasText: 'completed' }).waitFor();
    const barWidth = await page
      .locator(`tr[data-task-id="${id}"] .progress > div`)
      .evaluate((bar) => (bar as HTMLElement).style.width);
    expect(barWidth).toBe('100%');
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect((await t.prisma.task.findUnique({ where: { id } }))?.status).toBe('completed');
  });

  it('cancels a running task from its row', async () => {
    const id = await createFromPage({ samples: 200, interval_ms: 100 });
    await statusOf(id).filter({ hasText: 'processing' }).waitFor();
    await page.click(`tr[data-task-id="${id}"] button.cancel`);
    await statusOf(id).filter({ hasText: 'cancelled' }).waitFor();
    await page.locator(`tr[data-task-id="${id}"] button.retry`).waitFor();
    expect((await t.prisma.task.findUnique({ where: { id } }))?.status).toBe('cancelled');
  });

  it("opens a task's detail with its progress, history, attempts and result", async () => {
    const [done] = await t.prisma.task.findMany({ where: { kbId: kb, status: 'completed' } });
    await page.click(`tr[data-task-id="${done.id}"] td:first-child`);
    await page.locator('#detail').waitFor({ state: 'visible' });
    await page.waitForFunction(() => document.querySelectorAll('#detail-history tbody tr').length >= 9);
    await page.locator('#detail-attempts tbody tr', { hasText: 'completed' }).waitFor();
    expect(await page.textContent('#detail-id')).toBe(done.id);
    expect(await page.getAttribute('#detail-status', 'data-status')).toBe('completed');
    expect(JSON.parse((await page.textContent('#detail-result'))!)).toMatchObject({ status: 'healthy' });
  });

  it('cancels every matching task in bulk from the page', async () => {
    const scheduled = await request(t.http)
      .post('/api/v1/tasks/batch')
      .send([1, 2, 3].map(() => taskRequest({ kb_id: kb, schedule_for: '2999-01-01T00:00:00Z' })))
      .expect(201);
    await page.selectOption('#filters [name=status]', 'queued');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#task-table tbody tr').length === 3);
    await page.click('#bulk-cancel');
    await page.locator('#bulk-result', { hasText: 'cancel: 3 of 3 tasks done' }).waitFor();
    const ids = scheduled.body.tasks.map((task: { id: string }) => task.id);
    expect(await t.prisma.task.count({ where: { id: { in: ids }, status: 'cancelled' } })).toBe(3);
  });

  it('draws the throughput chart and the worker list, and the page is not blank', async () => {
    await page.selectOption('#filters [name=status]', '');
    await page.click('#filters button[type=submit]');
    await page.waitForFunction(() => document.querySelectorAll('#chart rect').length >= 1);
    await page.waitForFunction(() => document.querySelectorAll('#worker-table tbody tr').length >= 1);
    await page.waitForFunction(() => document.querySelectorAll('#queue-table tbody tr').length === 6);

    const png = await page.screenshot({ fullPage: true });
    // Kept for a person to look at after a run; overwritten by the next one.
    writeFileSync(join(tmpdir(), 'task-manager-dashboard.png'), png);
    expect(png.subarray(1, 4).toString('ascii')).toBe('PNG');
    expect(png.length).toBeGreaterThan(20_000);
    // Decoded in the page: a blank (or one-colour) screenshot has almost no variance.
    const pixels = await page.evaluate(async (base64) => {
      const image = new Image();
      image.src = `data:image/png;base64,${base64}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      [canvas.width, canvas.height] = [image.width, image.height];
      const ctx = canvas.getContext('2d')!;
      ctx.drawImage(image, 0, 0);
      const { data } = ctx.getImageData(0, 0, image.width, image.height);
      let sum = 0;
      let sumSq = 0;
      const colours = new Set<number>();
      for (let i = 0; i < data.length; i += 4) {
        const luma = 0.299 * data[i] + 0.587 * data[i + 1] + 0.114 * data[i + 2];
        sum += luma;
        sumSq += luma * luma;
        if (i % 64 === 0) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
      }
      const n = data.length / 4;
      return {
        width: image.width,
        height: image.height,
        stddev: Math.sqrt(sumSq / n - (sum / n) ** 2),
        colours: colours.size,
      };
    }, png.toString('base64'));
    expect(pixels.width).toBe(1280);
    expect(pixels.stddev).toBeGreaterThan(15);
    expect(pixels.colours).toBeGreaterThan(50);
    expect(problems).toEqual([]);
  });
});
