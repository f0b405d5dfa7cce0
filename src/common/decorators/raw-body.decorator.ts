import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';

/**
 * The request body as parsed JSON, for a route whose own pipe validates it (`@RawBody(ParseTaskPipe)`).
 * The global ValidationPipe skips custom parameters; with `@Body()` it would validate the
 * metatype first and answer before the route's pipe could add what it finds.
 */
export const RawBody = createParamDecorator(
  (_data: unknown, ctx: ExecutionContext): unknown => ctx.switchToHttp().getRequest<FastifyRequest>().body,
);
