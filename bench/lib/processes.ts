import { ChildProcess, spawn } from 'node:child_process';
import { withDeadline } from './time';

/**
 * Child processes the harness started. Every one is registered here so that however the
 * harness ends — normally, on an error, on SIGINT/SIGTERM — none is left running.
 */
const live = new Set<ManagedProcess>();

/**
 * Last lines of a child's output, kept to explain a failed start or what the service warned
 * about during a scenario, without flooding the report.
 */
class OutputTail {
  private readonly lines: string[] = [];
  private total = 0;
  private taken = 0;
  constructor(private readonly limit = 40) {}
  push(chunk: Buffer): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      this.lines.push(line);
      this.total++;
      if (this.lines.length > this.limit) this.lines.shift();
    }
  }
  /** Lines written since the previous call (at most the kept ones), and how many there were. */
  takeNew(): { count: number; lines: string[] } {
    const count = this.total - this.taken;
    this.taken = this.total;
    return { count, lines: this.lines.slice(-Math.min(count, this.limit)) };
  }
  toString(): string {
    return this.lines.join('\n');
  }
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Echo the child's output to our stderr as it comes (for --verbose). */
  echo?: boolean;
}

export class ManagedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  private readonly output = new OutputTail();
  private readonly exited: Promise<number | null>;
  exitCode: number | null | undefined = undefined;

  constructor(options: SpawnOptions) {
    this.name = options.name;
    this.child = spawn(options.command, options.args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const collect = (chunk: Buffer) => {
      this.output.push(chunk);
      if (options.echo) process.stderr.write(`[${this.name}] ${chunk.toString('utf8')}`);
    };
    this.child.stdout?.on('data', collect);
    this.child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        live.delete(this);
        resolve(code);
      });
      this.child.once('error', (error) => {
        this.output.push(Buffer.from(`spawn error: ${error.message}`));
        this.exitCode = -1;
        live.delete(this);
        resolve(-1);
      });
    });
    live.add(this);
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name} has no pid (it failed to spawn)`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  tail(): string {
    return this.output.toString();
  }

  takeNewOutput(): { count: number; lines: string[] } {
    return this.output.takeNew();
  }

  waitExit(): Promise<number | null> {
    return this.exited;
  }

  /**
   * Asks the process to stop with `signal`, and kills it if it has not exited after `graceMs`.
   * The service shuts down gracefully on SIGTERM (workers finish what they run); SIGKILL is
   * only the backstop so a stuck child cannot outlive the harness.
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    this.child.kill(signal);
    try {
      await withDeadline(this.exited, graceMs, `${this.name} shutdown`);
    } catch {
      this.child.kill('SIGKILL');
      await withDeadline(this.exited, 5000, `${this.name} kill`).catch(() => undefined);
    }
  }
}

/** Stops every child still running (used by the exit paths). */
export async function stopAll(graceMs = 10_000): Promise<void> {
  await Promise.all([...live].map((p) => p.stop('SIGTERM', graceMs)));
}

/** Last resort from a synchronous 'exit' handler: no waiting is possible there. */
export function killAllNow(): void {
  for (const p of live) p.child.kill('SIGKILL');
}

/** Runs a command to completion within `timeoutMs`; rejects with its output when it fails. */
export async function runToCompletion(options: SpawnOptions & { timeoutMs: number }): Promise<string> {
  const p = new ManagedProcess(options);
  let code: number | null;
  try {
    code = await withDeadline(p.waitExit(), options.timeoutMs, options.name);
  } catch (error) {
    await p.stop('SIGKILL', 1000);
    throw error;
  }
  if (code !== 0) throw new Error(`${options.name} exited with ${code}:\n${p.tail()}`);
  return p.tail();
}
