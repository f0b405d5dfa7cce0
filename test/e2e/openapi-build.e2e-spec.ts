import { execFile, spawn } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import request from 'supertest';
import { AppRole } from '../../src/config/env.validation';
import { freePort } from '../setup/processes';
import { createTestApp, TestApp, waitFor } from '../setup/test-app';
import { applyTestEnv } from '../setup/test-env';

const ROOT = path.join(__dirname, '..', '..');

/**
 * The tests run the sources through swc, which does not apply the Swagger CLI plugin of
 * nest-cli.json; `npm start` serves what `nest build` compiled with it. The plugin adds
 * metadata of its own (types inferred from the TypeScript types), so the two documents can
 * differ, and every other OpenAPI test (examples, lint, the generated client) would check
 * a document no user sees. This one builds as `npm start` does, into a temporary folder,
 * and asserts that the built service serves the very document the tests check.
 */
describe('The OpenAPI document of the built service (e2e)', () => {
  let t: TestApp;
  let dir: string;

  beforeAll(async () => {
    t = await createTestApp({}, AppRole.Api);
    dir = mkdtempSync(path.join(tmpdir(), 'tm-build-'));
  });

  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('equals the document the tests check', async () => {
    // nest build reads nest-cli.json and the tsconfig from its working folder: the repository's,
    // pointed at the repository's sources and this folder's dist (package.json sits next to
    // dist as it does in the repository, since /health reads the version from it).
    const cli = JSON.parse(readFileSync(path.join(ROOT, 'nest-cli.json'), 'utf8')) as {
      sourceRoot: string;
      compilerOptions: Record<string, unknown>;
    };
    cli.sourceRoot = path.join(ROOT, 'src');
    cli.compilerOptions = { ...cli.compilerOptions, assets: [], tsConfigPath: 'tsconfig.build.json' };
    writeFileSync(path.join(dir, 'nest-cli.json'), JSON.stringify(cli));
    writeFileSync(
      path.join(dir, 'tsconfig.build.json'),
      JSON.stringify({
        extends: path.join(ROOT, 'tsconfig.json'),
        compilerOptions: { rootDir: path.join(ROOT, 'src'), outDir: path.join(dir, 'dist'), types: ['node'] },
        include: [path.join(ROOT, 'src')],
        exclude: [path.join(ROOT, '**', '*.spec.ts')],
      }),
    );
    copyFileSync(path.join(ROOT, 'package.json'), path.join(dir, 'package.json'));
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    await promisify(execFile)(path.join(ROOT, 'node_modules', '.bin', 'nest'), ['build'], {
      cwd: dir,
      timeout: 240000,
    });
    // The assets by hand (the CLI resolves them against its own folder): the dashboard reads its
    // page files at start and refuses to start without them.
    cpSync(path.join(ROOT, 'src', 'dashboard', 'public'), path.join(dir, 'dist', 'dashboard', 'public'), {
      recursive: true,
    });

    applyTestEnv();
    const port = await freePort();
    const child = spawn(process.execPath, [path.join(dir, 'dist', 'main.js')], {
      cwd: dir,
      env: {
        ...process.env,
        APP_ROLE: 'api',
        PORT: String(port),
        QUEUE_PREFIX: t.prefix,
        LOG_LEVEL: 'log',
        NODE_OPTIONS: '',
      },
      stdio: 'pipe',
    });
    const output: string[] = [];
    child.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(`the built service exited with ${child.exitCode ?? child.signalCode}:\n${output.join('')}`);
          return output.join('').includes('listening on');
        },
        Boolean,
        { timeoutMs: 60000, intervalMs: 200, what: 'the built service to listen' },
      );
      const built = await (await fetch(`http://127.0.0.1:${port}/docs-json`)).json();
      const tested = (await request(t.http).get('/docs-json').expect(200)).body;
      expect(built).toEqual(tested);
    } finally {
      child.kill('SIGTERM');
      await new Promise((resolve) => {
        if (child.exitCode === null && child.signalCode === null) child.once('exit', resolve);
        else resolve(null);
      });
    }
  }, 360000);
});
