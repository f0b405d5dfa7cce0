import { once } from 'node:events';
import { createServer, Server } from 'node:http';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { register } from 'prom-client';
import { errorMessage } from '../common/errors/error-message';
import type { AllConfig } from '../config/app.config';
import { AppRole } from '../config/env.validation';

/**
 * The worker role loads no HTTP code, yet its counters (completions, failures, attempts,
 * run times, queue waits) happen only there: with WORKER_METRICS_PORT set, a bare
 * node:http server answers GET /metrics with this process's registry, and nothing else.
 * The API and both roles serve /metrics through the API already.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(private readonly config: ConfigService<AllConfig, true>) {}

  async onApplicationBootstrap(): Promise<void> {
    const { role, workerMetricsPort, host } = this.config.getOrThrow('app', { infer: true });
    if (role !== AppRole.Worker || workerMetricsPort === 0) return;
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
        response
          .writeHead(404, { 'content-type': 'text/plain' })
          .end('Not found: this port serves GET /metrics only\n');
        return;
      }
      register.metrics().then(
        (text) => response.writeHead(200, { 'content-type': register.contentType }).end(text),
        (error: unknown) => {
          this.logger.warn(`Metrics not rendered: ${errorMessage(error)}`);
          response.writeHead(500, { 'content-type': 'text/plain' }).end('Metrics unavailable\n');
        },
      );
    });
    server.listen(workerMetricsPort, host);
    await once(server, 'listening');
    this.server = server;
    this.logger.log(`Worker metrics on http://${host}:${workerMetricsPort}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
  }
}
