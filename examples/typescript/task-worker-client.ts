/**
 * A small typed client for task-manager's external-worker API (docs/external-workers.md):
 * lease tasks of EXTERNAL_TASK_TYPES, run them with heartbeats, complete or fail them, and
 * stop gracefully. Node 20+ (global fetch); no dependencies, so it can be copied as it is.
 *
 *   const worker = new TaskWorkerClient({ baseUrl: 'http://localhost:8084', apiKey, workerId: 'ts-1',
 *     taskTypes: ['embedding_generation'] });
 *   const done = worker.run(async (task, { signal, progress }) => ({ ... result ... }));
 *   process.once('SIGTERM', () => void worker.stop());
 *   await done;
 */

export interface LeasedTask<P = Record<string, unknown>> {
  id: string;
  kb_id: string;
  task_type: string;
  priority: string;
  payload: P;
  attempt: number;
  max_retries: number;
  timeout: number;
  lease_token: string;
  lease_expires_at: string;
}

export interface TaskWorkerOptions {
  /** The service's base URL, e.g. http://localhost:8084. */
  baseUrl: string;
  /** An API key with the worker role (sent as X-API-Key); omit when authentication is off. */
  apiKey?: string;
  workerId: string;
  taskTypes: string[];
  /** Tasks run at once (and leased at most per call). Default 1. */
  concurrency?: number;
  /** Each lease's length; heartbeats renew it every third of it. Default 30. */
  leaseSeconds?: number;
  /** How long one lease call waits for a task (long poll). Default 20. */
  waitSeconds?: number;
  /** Called with errors of the loop itself (network, 5xx); it retries after a second. */
  onError?: (error: unknown) => void;
}

/** What a handler gets besides its task. */
export interface TaskContext {
  /** Aborted when the lease is gone (cancelled, expired, taken over): stop, the result would be refused. */
  signal: AbortSignal;
  /** Reports progress (0–100) with the next heartbeat, at once. */
  progress: (percent: number, message?: string) => Promise<void>;
}

export type TaskHandler = (task: LeasedTask, context: TaskContext) => Promise<Record<string, unknown>>;

/** Thrown by a handler for a failure that retrying cannot fix: the task fails at once. */
export class PermanentTaskError extends Error {}

/** An answer other than 2xx, with the service's error code (TASK_CANCELLED, LEASE_EXPIRED, LEASE_LOST, …). */
export class TaskApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }

  /** The lease no longer holds the task: the worker must drop it (409). */
  get leaseGone(): boolean {
    return this.status === 409;
  }
}

export class TaskWorkerClient {
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly waitSeconds: number;
  private readonly running = new Set<Promise<void>>();
  private stopping = false;
  private loop: Promise<void> | null = null;

  constructor(private readonly options: TaskWorkerOptions) {
    this.concurrency = options.concurrency ?? 1;
    this.leaseSeconds = options.leaseSeconds ?? 30;
    this.waitSeconds = options.waitSeconds ?? 20;
  }

  /** One lease call: up to `maxTasks` tasks, after waiting up to waitSeconds for one. */
  async lease(maxTasks = this.concurrency): Promise<LeasedTask[]> {
    const body = {
      worker_id: this.options.workerId,
      task_types: this.options.taskTypes,
      max_tasks: maxTasks,
      lease_seconds: this.leaseSeconds,
      wait_seconds: this.waitSeconds,
    };
    return (await this.call<{ tasks: LeasedTask[] }>('POST', '/api/v1/workers/lease', body)).tasks;
  }

  /** Renews the lease for leaseSeconds more; throws TaskApiError (409) when it is gone. */
  async heartbeat(task: LeasedTask, progress?: { percent: number; message?: string }): Promise<void> {
    await this.call('POST', `/api/v1/tasks/${task.id}/heartbeat`, {
      lease_token: task.lease_token,
      lease_seconds: this.leaseSeconds,
      ...(progress ? { progress: Math.round(progress.percent), message: progress.message } : {}),
    });
  }

  async complete(task: LeasedTask, result: Record<string, unknown>): Promise<void> {
    await this.call('POST', `/api/v1/tasks/${task.id}/complete`, { lease_token: task.lease_token, result });
  }

  async fail(task: LeasedTask, error: string, retryable: boolean): Promise<void> {
    await this.call('POST', `/api/v1/tasks/${task.id}/fail`, { lease_token: task.lease_token, error, retryable });
  }

  /** Leases and runs tasks until stop(); resolves when the last running task has ended. */
  run(handler: TaskHandler): Promise<void> {
    this.loop ??= this.leaseLoop(handler);
    return this.loop;
  }

  /**
   * Graceful stop: no new lease call; the one in flight (at most waitSeconds) is answered and
   * its tasks run too — they are leased to this worker — then every running task finishes.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async leaseLoop(handler: TaskHandler): Promise<void> {
    while (!this.stopping) {
      if (this.running.size >= this.concurrency) {
        await Promise.race(this.running);
        continue;
      }
      let tasks: LeasedTask[];
      try {
        tasks = await this.lease(this.concurrency - this.running.size);
      } catch (error) {
        this.options.onError?.(error);
        await delay(1000);
        continue;
      }
      for (const task of tasks) {
        const execution = this.execute(task, handler).finally(() => this.running.delete(execution));
        this.running.add(execution);
      }
    }
    await Promise.all(this.running);
  }

  /** Runs one task with heartbeats every third of the lease; its outcome is reported under its lease. */
  private async execute(task: LeasedTask, handler: TaskHandler): Promise<void> {
    const lost = new AbortController();
    let pending: { percent: number; message?: string } | undefined;
    const beat = async () => {
      try {
        await this.heartbeat(task, pending);
      } catch (error) {
        if (error instanceof TaskApiError && error.leaseGone) lost.abort(error);
        else this.options.onError?.(error);
      }
    };
    const timer = setInterval(() => void beat(), (this.leaseSeconds * 1000) / 3);
    const context: TaskContext = {
      signal: lost.signal,
      progress: async (percent, message) => {
        pending = { percent, message };
        await beat();
      },
    };
    try {
      const result = await untilAborted(handler(task, context), lost.signal);
      await this.report(() => this.complete(task, result));
    } catch (error) {
      if (lost.signal.aborted) return;
      const message = error instanceof Error ? error.message : String(error);
      await this.report(() => this.fail(task, message, !(error instanceof PermanentTaskError)));
    } finally {
      clearInterval(timer);
    }
  }

  /** A refused outcome (409) means someone else owns the task now: nothing to do. */
  private async report(send: () => Promise<void>): Promise<void> {
    try {
      await send();
    } catch (error) {
      if (!(error instanceof TaskApiError && error.leaseGone)) this.options.onError?.(error);
    }
  }

  private async call<T>(method: string, path: string, body: unknown): Promise<T> {
    const response = await fetch(new URL(path, this.options.baseUrl), {
      method,
      headers: {
        'Content-Type': 'application/json',
        ...(this.options.apiKey ? { 'X-API-Key': this.options.apiKey } : {}),
      },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : null;
    if (!response.ok) {
      const error = (parsed ?? {}) as { code?: string; message?: string };
      throw new TaskApiError(response.status, error.code ?? 'UNKNOWN', error.message ?? response.statusText);
    }
    return parsed as T;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The handler's outcome, or the signal's reason as soon as the lease is gone (the handler may ignore its signal). */
function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    void work.then(resolve, reject).finally(() => {
      signal.removeEventListener('abort', onAbort);
    });
  });
}
