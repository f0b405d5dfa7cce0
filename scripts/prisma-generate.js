#!/usr/bin/env node
/**
 * `prisma generate` without network access. Generating never runs the schema engine, but
 * the CLI first makes sure its native binary is present and tries to download it, which
 * fails here; pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing executable skips that.
 * Extra arguments are passed on (e.g. `--schema`, `--watch`).
 */
'use strict';

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const prismaCli = path.join(path.dirname(require.resolve('prisma/package.json')), 'build', 'index.js');

const result = spawnSync(process.execPath, [prismaCli, 'generate', ...process.argv.slice(2)], {
  stdio: 'inherit',
  env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.env.PRISMA_SCHEMA_ENGINE_BINARY || process.execPath },
});

if (result.error) {
  console.error(`Could not run the Prisma CLI: ${result.error.message}`);
}
process.exit(result.status ?? 1);
