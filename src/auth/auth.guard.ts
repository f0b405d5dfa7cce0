import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { DomainError, ForbiddenError, TaskNotFoundError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';
import { Principal } from '../common/security/principal';
import { allows, Role } from '../common/security/roles';
import { isUuid } from '../common/utils/uuid';
import { AuthenticationGate } from './authentication-gate.service';
import { RouteAccessResolver } from './route-access';
import { TaskOwnershipRepository } from './task-ownership.repository';

/** 403 unless the caller's role grants `role`; a `global` route also refuses callers limited to some kbs. */
export function authorize(principal: Principal, role: Role, global: boolean): void {
  if (!allows(principal.role, role)) {
    throw new ForbiddenError(`This operation needs the ${role} role; this credential has the ${principal.role} role`, {
      required_role: role,
      role: principal.role,
    });
  }
  if (global && principal.kbIds) {
    throw new ForbiddenError(
      'This operation spans every knowledge base; credentials limited to some (kb_ids) cannot use it',
      {
        required_role: role,
        role: principal.role,
      },
    );
  }
}

/**
 * The global guard: authenticates (401; 429 past the failed-authentication limit), checks
 * the route's role (403), and keeps a caller limited to some knowledge bases inside them.
 * A kb named anywhere in the request — the `:kb_id` path parameter, the `kb_id` query
 * parameter, the body's `kb_id` (each item's, in a batch) — must be one of the caller's,
 * else 404 NOT_FOUND; a `:task_id` must name a task of one of them, else 404 TASK_NOT_FOUND:
 * the same answers an unknown kb or task gets, so ids of other tenants cannot be probed. Routes that list or aggregate without a kb_id are
 * narrowed to the caller's kbs by their services (`@KbScope()`).
 * With authentication off (no keys, no JWT key configured) every request passes.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly gate: AuthenticationGate,
    private readonly access: RouteAccessResolver,
    private readonly tasks: TaskOwnershipRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (context.getType() !== 'http' || !this.gate.enabled) return true;
    const access = this.access.resolve(context);
    if (access.public) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const principal = await this.gate.authenticate(request);
    authorize(principal, access.role, access.global);
    if (principal.kbIds) await this.confine(request, principal);
    return true;
  }

  private async confine(request: FastifyRequest, principal: Principal): Promise<void> {
    const allowed = new Set(principal.kbIds);
    const check = (kbId: unknown) => {
      if (typeof kbId === 'string' && !allowed.has(kbId)) {
        throw new DomainError(ErrorCode.NotFound, 'Knowledge base not found', { kb_id: kbId });
      }
    };
    const params = (request.params ?? {}) as Record<string, unknown>;
    check(params.kb_id);
    for (const kbId of [(request.query as Record<string, unknown> | undefined)?.kb_id].flat()) check(kbId);
    const body: unknown = request.body;
    for (const item of Array.isArray(body) ? body : [body]) {
      if (item !== null && typeof item === 'object' && !Array.isArray(item))
        check((item as Record<string, unknown>).kb_id);
    }
    if (typeof params.task_id === 'string') {
      const taskId = params.task_id;
      const kbId = isUuid(taskId) ? await this.tasks.kbOf(taskId) : null;
      if (kbId === null || !allowed.has(kbId)) throw new TaskNotFoundError(taskId);
    }
  }
}
