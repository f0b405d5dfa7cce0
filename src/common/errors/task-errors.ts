/** The attempt ran past the task's `timeout`; retried like any other failure. */
export class TaskTimeoutError extends Error {
  constructor(readonly seconds: number) {
    super(`Task timed out after ${seconds}s`);
    this.name = 'TaskTimeoutError';
  }
}

/** The task was cancelled while running; never retried. */
export class TaskCancelledError extends Error {
  constructor() {
    super('Task was canceled');
    this.name = 'TaskCancelledError';
  }
}

/**
 * A failure no retry can fix (an invalid payload, an unsupported file format): the task
 * fails at once instead of burning its attempts.
 */
export class PermanentTaskError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PermanentTaskError';
  }
}

/**
 * The worker process is shutting down and its grace period is over: the attempt is not a
 * failure, the task goes back to the queue for another worker.
 */
export class WorkerShutdownError extends Error {
  constructor() {
    super('Worker shut down before the task finished; returned to the queue');
    this.name = 'WorkerShutdownError';
  }
}

/**
 * BullMQ could not renew the job's lock (it was taken or expired): another worker may run
 * the task now, so this process stops running it and records nothing for it.
 */
export class LeaseLostError extends Error {
  constructor() {
    super("The worker lost its job's lock; the task is no longer its to run");
    this.name = 'LeaseLostError';
  }
}
