import type { Role } from './roles';

/** The verified caller of a request. */
export interface Principal {
  /** `key:<name>` for an API key, `jwt:<sub>` for a token: what logs and the rate limiter know the caller by. */
  id: string;
  role: Role;
  /** The knowledge bases the caller may touch; null means all of them. */
  kbIds: readonly string[] | null;
  via: 'api-key' | 'jwt';
}

const principals = new WeakMap<object, Principal>();

/** Remembers who made a request, for the guards, the rate limiter and `@KbScope()`. */
export function setPrincipal(request: object, principal: Principal): void {
  principals.set(request, principal);
}

/** The request's verified caller; null when authentication is off or has not run. */
export function principalOf(request: object): Principal | null {
  return principals.get(request) ?? null;
}
