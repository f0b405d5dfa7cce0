/**
 * `promise`, or a rejection when it has not settled within `ms`. The rejection comes in the
 * check phase, after the poll phase has read any reply that arrived meanwhile: when the event
 * loop was blocked, the timer fires before that reply is read, and a late event loop is not a
 * server that does not answer.
 */
export function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        setImmediate(() => {
          reject(new Error(`no answer within ${ms} ms`));
        }),
      ms,
    );
  });
  return Promise.race([promise, timeout]).finally(() => {
    clearTimeout(timer);
  });
}
