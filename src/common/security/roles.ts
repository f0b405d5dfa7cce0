/**
 * What a credential may do. `read` sees tasks, stats, queues, documents and events;
 * `write` also creates, cancels and retries (one by one or in bulk); `worker` reads, reports
 * progress and, as an external worker, leases, heartbeats, completes and fails tasks; `admin` does everything, including the operator routes (system stats,
 * queue pause/resume, Bull Board). `write` and `worker` are siblings: a producer cannot
 * fake progress and a worker cannot create or cancel.
 */
export enum Role {
  Read = 'read',
  Write = 'write',
  Worker = 'worker',
  Admin = 'admin',
}

export const ROLES = Object.values(Role);

const GRANTS: Record<Role, ReadonlySet<Role>> = {
  [Role.Read]: new Set([Role.Read]),
  [Role.Write]: new Set([Role.Read, Role.Write]),
  [Role.Worker]: new Set([Role.Read, Role.Worker]),
  [Role.Admin]: new Set(ROLES),
};

/** Whether a caller with `role` may use a route that requires `required`. */
export function allows(role: Role, required: Role): boolean {
  return GRANTS[role].has(required);
}

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as string[]).includes(value);
}

/** The role a route needs unless it says otherwise: reading needs `read`, changing needs `write`. */
export function defaultRoleFor(method: string): Role {
  return ['GET', 'HEAD', 'OPTIONS'].includes(method.toUpperCase()) ? Role.Read : Role.Write;
}
