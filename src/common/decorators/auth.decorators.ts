import { applyDecorators, createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import { ApiExtension } from '@nestjs/swagger';
import { principalOf } from '../security/principal';
import { Role } from '../security/roles';

export const IS_PUBLIC = 'auth:public';
export const REQUIRED_ROLE = 'auth:required-role';
/** OpenAPI extensions read by `applyAuthToDocument`; `x-public` is removed there. */
export const OPENAPI_PUBLIC = 'x-public';
export const OPENAPI_ROLE = 'x-required-role';

/** Open without credentials and not rate limited: health probes. */
export function Public(): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(IS_PUBLIC, true), ApiExtension(OPENAPI_PUBLIC, true));
}

/**
 * The role a route needs when it is not the default (GET: read; POST, PUT, DELETE: write).
 * Routes that need `admin` also refuse credentials limited to some knowledge bases: they
 * act on every kb at once.
 */
export function RequireRole(role: Role): MethodDecorator & ClassDecorator {
  return applyDecorators(SetMetadata(REQUIRED_ROLE, role), ApiExtension(OPENAPI_ROLE, role));
}

/**
 * The knowledge bases the caller may see, for list-like routes to filter by: null when it
 * may see all (or authentication is off).
 */
export const KbScope = createParamDecorator((_data: unknown, context: ExecutionContext): readonly string[] | null => {
  return principalOf(context.switchToHttp().getRequest<object>())?.kbIds ?? null;
});

/** The caller's principal id (`key:<name>`, `jwt:<sub>`); null when authentication is off. */
export const CallerId = createParamDecorator((_data: unknown, context: ExecutionContext): string | null => {
  return principalOf(context.switchToHttp().getRequest<object>())?.id ?? null;
});
