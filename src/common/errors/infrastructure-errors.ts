/**
 * Recognises "the database cannot be reached" among the shapes pg, the Prisma driver
 * adapter and the Prisma client use, so that callers get 503 SERVICE_UNAVAILABLE rather
 * than a 500 while PostgreSQL is down.
 */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
]);
// P2037: too many connections — the server is saturated, which a caller should treat like an outage.
const PRISMA_CONNECTION_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2037']);
// 57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now, 53300 too_many_connections
const PG_UNAVAILABLE_CODES = new Set(['57P01', '57P02', '57P03', '53300', '08000', '08001', '08003', '08004', '08006']);

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== 'object' || depth > 4) return false;
  const e = error as { code?: unknown; name?: string; message?: string; cause?: unknown; kind?: string };
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && (NETWORK_CODES.has(code) || PRISMA_CONNECTION_CODES.has(code) || PG_UNAVAILABLE_CODES.has(code))) {
    return true;
  }
  if (e.name === 'PrismaClientInitializationError') return true;
  const message = e.message ?? '';
  if (
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect|Can't reach database|Connection refused|DatabaseNotReachable|the database system is (shutting down|starting up)/i.test(
      message,
    )
  ) {
    return true;
  }
  return isDatabaseUnavailable(e.cause, depth + 1);
}
