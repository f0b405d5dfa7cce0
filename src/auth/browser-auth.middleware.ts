import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type { AllExceptionsFilter } from '../common/filters/all-exceptions.filter';
import { Role } from '../common/security/roles';
import { authorize } from './auth.guard';
import { AuthenticationGate } from './authentication-gate.service';
import { BASIC_CHALLENGE } from './authenticator.service';

/**
 * The login for pages a person opens in a browser — Bull Board, the dashboard, the Swagger
 * UI when DOCS_REQUIRE_AUTH — which Nest guards do not (all) reach. Same credentials, roles
 * and failed-authentication limit as the API (AuthenticationGate); a refusal challenges with
 * Basic, so the browser asks for a login: any user name, and an API key (or a JWT) as the
 * password. The browser then sends it with the page's own API calls and event streams too.
 *
 * Attached as an onRequest hook to the routes under each path as they are registered
 * (Bull Board's and Swagger's plugins included), so no other route pays for the check. A
 * refusal is answered here, in the API's error body: Bull Board's plugin has an error
 * handler of its own that would otherwise answer it with a 500.
 */
export function browserAuthHook(
  fastify: FastifyInstance,
  gate: AuthenticationGate,
  errors: AllExceptionsFilter,
  pages: [string, Role][],
): void {
  if (!gate.enabled) return;
  const check =
    (role: Role): onRequestAsyncHookHandler =>
    async (request, reply) => {
      try {
        authorize(await gate.authenticate(request, BASIC_CHALLENGE), role, role === Role.Admin);
      } catch (error) {
        errors.send(reply, error);
        return reply;
      }
    };
  const hooks = new Map(pages.map(([path, role]) => [path, check(role)]));
  fastify.addHook('onRoute', (route) => {
    const url = route.url.toLowerCase();
    const page = pages.find(([path]) => url === path || url.startsWith(`${path}/`));
    if (!page) return;
    route.onRequest = [...[route.onRequest ?? []].flat(), hooks.get(page[0])!];
  });
}
