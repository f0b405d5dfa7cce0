import type { AddressInfo } from 'node:net';
import type { OpenAPIObject } from '@nestjs/swagger';
import { AppModule } from '../../src/app.module';
import { createHttpApp } from '../../src/bootstrap';
import { AppRole } from '../../src/config/env.validation';

/**
 * The document the service serves, fetched from /docs-json of the API role started on a
 * free loopback port (it needs the database and Redis, as `npm start` does).
 */
export async function fetchLiveDocument(): Promise<OpenAPIObject> {
  process.env.APP_ROLE = AppRole.Api;
  process.env.LOG_LEVEL ??= 'error';
  const app = await createHttpApp(AppModule.forRole(AppRole.Api), { logger: ['error'] });
  try {
    await app.listen(0, '127.0.0.1');
    const { port } = app.getHttpServer().address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/docs-json`);
    if (!response.ok) throw new Error(`GET /docs-json answered ${response.status} (DOCS_REQUIRE_AUTH?)`);
    return (await response.json()) as OpenAPIObject;
  } finally {
    await app.close();
  }
}
