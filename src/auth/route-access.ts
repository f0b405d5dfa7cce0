import { ExecutionContext, Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import { IS_PUBLIC, REQUIRED_ROLE } from '../common/decorators/auth.decorators';
import { defaultRoleFor, Role } from '../common/security/roles';
import type { AllConfig } from '../config/app.config';

/** What a route asks of its caller. */
export type RouteAccess =
  | { public: true }
  | {
      public: false;
      role: Role;
      /** The route acts on every knowledge base: credentials limited to some kbs are refused. */
      global: boolean;
    };

/**
 * Reads a route's access rule from its metadata (`@Public()`, `@RequireRole()`), with the
 * defaults by HTTP method, in one place for the auth guard and the rate limiter.
 * /metrics belongs to a library controller: it is public unless METRICS_REQUIRE_AUTH.
 * Metadata does not change after boot, so a route's rule is worked out once and then read
 * from a map keyed by its controller and handler (one handler serves one method; GET's
 * implicit HEAD defaults to the same read role).
 */
@Injectable()
export class RouteAccessResolver {
  private readonly metricsRequireAuth: boolean;
  private readonly rules = new WeakMap<object, WeakMap<object, RouteAccess>>();

  constructor(
    private readonly reflector: Reflector,
    config: ConfigService<AllConfig, true>,
  ) {
    this.metricsRequireAuth = config.getOrThrow('auth.metricsRequireAuth', { infer: true });
  }

  resolve(context: ExecutionContext): RouteAccess {
    const controller = context.getClass();
    let byHandler = this.rules.get(controller);
    if (!byHandler) this.rules.set(controller, (byHandler = new WeakMap()));
    let access = byHandler.get(context.getHandler());
    if (!access) byHandler.set(context.getHandler(), (access = this.read(context)));
    return access;
  }

  private read(context: ExecutionContext): RouteAccess {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return { public: true };
    if (isMetrics(context.getClass()))
      return this.metricsRequireAuth ? { public: false, role: Role.Read, global: true } : { public: true };
    const method = context.switchToHttp().getRequest<{ method: string }>().method;
    const role = this.reflector.getAllAndOverride<Role | undefined>(REQUIRED_ROLE, targets) ?? defaultRoleFor(method);
    return { public: false, role, global: role === Role.Admin };
  }
}

function isMetrics(controller: unknown): boolean {
  return (
    typeof controller === 'function' &&
    (controller === PrometheusController || controller.prototype instanceof PrometheusController)
  );
}
