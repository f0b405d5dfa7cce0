/**
 * The message of anything thrown or rejected, for a log line: a rejection reason is `unknown`
 * (a library may reject with a string or a plain object), so reading `.message` blindly would
 * log `undefined`.
 */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
