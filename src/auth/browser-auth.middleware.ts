import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { authorize } from './auth.guard';
import { AuthenticationGate } from './authentication-gate.service';
import { BASIC_CHALLENGE } from './authenticator.service';
import { Role } from '../common/security/roles';

/**
 * Express middleware for pages a person opens in a browser — Bull Board, the dashboard, the
 * Swagger UI when DOCS_REQUIRE_AUTH — which Nest guards do not (all) reach. Same credentials,
 * roles and failed-authentication limit as the API (AuthenticationGate); a refusal challenges with Basic, so the browser asks for a login:
 * any user name, and an API key (or a JWT) as the password. The browser then sends it with
 * the page's own API calls and event streams too.
 */
export function browserAuth(gate: AuthenticationGate, role: Role): RequestHandler {
  return (request: Request, _response: Response, next: NextFunction) => {
    if (!gate.enabled) return next();
    void gate
      .authenticate(request, BASIC_CHALLENGE)
      .then((principal) => authorize(principal, role, role === Role.Admin))
      .then(() => next(), next);
  };
}
