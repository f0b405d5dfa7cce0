/**
 * Whether `work` settles (either way) within `ms`. Waiting stops at the deadline, the work
 * does not: use it where going on without the result is safe. The timer is cleared, so a
 * fast answer leaves nothing pending.
 */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      resolve(false);
    }, ms);
  });
  try {
    return await Promise.race([
      work.then(
        () => true,
        () => true,
      ),
      deadline,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
