import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import type Redis from 'ioredis';
import { serverVersion } from './database';
import { loadAverage } from './proc';
import { redisVersion } from './redis';

export interface MachineInfo {
  cpus: number;
  cpu_model: string;
  memory_gib: number;
  os: string;
  node: string;
  postgresql: string;
  redis: string;
  packages: Record<string, string>;
  git: string;
  load_average_at_start: [number, number, number];
}

function packageVersion(rootDir: string, name: string): string {
  try {
    return (
      JSON.parse(readFileSync(join(rootDir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
    ).version;
  } catch {
    return 'not installed';
  }
}

function gitDescription(rootDir: string): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: rootDir, encoding: 'utf8' }).trim();
    const dirty =
      execFileSync('git', ['status', '--porcelain', '--', 'src', 'prisma'], {
        cwd: rootDir,
        encoding: 'utf8',
      }).trim() !== '';
    return dirty ? `${commit} + uncommitted changes in src/ or prisma/` : commit;
  } catch {
    return 'not a git checkout';
  }
}

function osName(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]+)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

/** The machine and the versions the figures were measured with, read at run time. */
export async function machineInfo(rootDir: string, databaseUrl: string, redis: Redis): Promise<MachineInfo> {
  return {
    cpus: os.availableParallelism(),
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    memory_gib: Math.round(os.totalmem() / 2 ** 30),
    os: `${osName()} (${os.arch()})`,
    node: process.version,
    postgresql: await serverVersion(databaseUrl),
    redis: await redisVersion(redis),
    packages: Object.fromEntries(
      ['@nestjs/core', '@prisma/client', 'bullmq', 'ioredis', 'pg', 'autocannon', 'pg-boss', 'graphile-worker'].map(
        (p) => [p, packageVersion(rootDir, p)],
      ),
    ),
    git: gitDescription(rootDir),
    load_average_at_start: loadAverage(),
  };
}
