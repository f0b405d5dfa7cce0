import { Injectable } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { FastifyInstance } from 'fastify';
import type { Histogram } from 'prom-client';
import { METRIC } from './metrics';

/**
 * Times every request, labelled by the route pattern (not the raw URL, whose ids would
 * explode the label set), from Fastify's own clock once the response is sent, so errors
 * mapped by the exception filter are timed with their real status. A request costs one
 * map lookup and one observation: the labelled series are kept per method, route and
 * status rather than looked up by prom-client's label hashing each time.
 */
@Injectable()
export class HttpMetricsRecorder {
  private readonly series = new Map<string, Histogram.Internal<string>>();

  constructor(@InjectMetric(METRIC.httpDuration) private readonly duration: Histogram) {}

  install(fastify: FastifyInstance): void {
    fastify.addHook('onResponse', (request, reply, done) => {
      this.observe(request.method, request.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
      done();
    });
  }

  private observe(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let series = this.series.get(key);
    if (!series) {
      series = this.duration.labels({ method, route, status_code: String(status) });
      this.series.set(key, series);
    }
    series.observe(seconds);
  }
}
