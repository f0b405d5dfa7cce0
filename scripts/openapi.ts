/**
 * The service's OpenAPI document outside the service:
 *
 *   node -r @swc-node/register scripts/openapi.ts export <file.json>   write the live document
 *   node -r @swc-node/register scripts/openapi.ts docs                 regenerate docs/api.md
 *   node -r @swc-node/register scripts/openapi.ts lint                 redocly lint (redocly.yaml) of the live document
 *
 * Each starts the API role once (DATABASE_URL and REDIS_URL must reach running services).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { errorMessage } from '../src/common/errors/error-message';
import { fetchLiveDocument } from './lib/live-openapi';
import { renderApiMarkdown } from './lib/openapi-markdown';

const ROOT = path.join(__dirname, '..');
export const API_DOC_PATH = path.join(ROOT, 'docs', 'api.md');

async function main([command, target]: string[]): Promise<number> {
  const document = await fetchLiveDocument();
  switch (command) {
    case 'export':
      if (!target) throw new Error('Usage: openapi.ts export <file.json>');
      writeFileSync(target, JSON.stringify(document, null, 2) + '\n');
      return 0;
    case 'docs':
      writeFileSync(API_DOC_PATH, renderApiMarkdown(document));
      console.log(`wrote ${path.relative(ROOT, API_DOC_PATH)}`);
      return 0;
    case 'lint': {
      const dir = mkdtempSync(path.join(tmpdir(), 'openapi-'));
      try {
        const file = path.join(dir, 'openapi.json');
        writeFileSync(file, JSON.stringify(document, null, 2));
        const redocly = path.join(ROOT, 'node_modules', '.bin', 'redocly');
        const env = { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' };
        const args = ['lint', '--config', path.join(ROOT, 'redocly.yaml'), file];
        const run = spawnSync(redocly, args, { stdio: 'inherit', env });
        if (run.status !== 0) return run.status ?? 1;
        // Redocly exits 0 on warnings; a clean document has none, so they fail the lint too.
        const totals = (
          JSON.parse(spawnSync(redocly, [...args, '--format', 'json'], { env, encoding: 'utf8' }).stdout) as {
            totals: { warnings: number };
          }
        ).totals;
        if (totals.warnings > 0) console.error(`${totals.warnings} warning(s): the document must lint clean`);
        return totals.warnings > 0 ? 1 : 0;
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    default:
      throw new Error('Usage: openapi.ts <export <file.json> | docs | lint>');
  }
}

main(process.argv.slice(2)).then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(errorMessage(error));
    process.exit(1);
  },
);
