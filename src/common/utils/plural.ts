/** `1 chunk`, `3 chunks`: a count with its noun in the right number, for messages people read. */
export function countOf(count: number, noun: string, plural = `${noun}s`): string {
  return `${count} ${count === 1 ? noun : plural}`;
}
