import { CallHandler, ExecutionContext, Injectable, NestInterceptor } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Request, Response } from 'express';
import type { Histogram } from 'prom-client';
import { Observable } from 'rxjs';
import { METRIC } from './metrics';

/**
 * Times every routed request, labelled by the route pattern (not the raw URL, whose ids
 * would explode the label set). Finishes on the response's `finish`, so errors mapped by
 * the exception filter are timed with their real status.
 */
@Injectable()
export class HttpMetricsInterceptor implements NestInterceptor {
  constructor(@InjectMetric(METRIC.httpDuration) private readonly duration: Histogram<string>) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    if (context.getType() !== 'http') return next.handle();
    const http = context.switchToHttp();
    const request = http.getRequest<Request>();
    const response = http.getResponse<Response>();
    const end = this.duration.startTimer();
    response.once('finish', () => {
      const route = (request.route as { path?: string } | undefined)?.path ?? 'unmatched';
      end({ method: request.method, route, status_code: String(response.statusCode) });
    });
    return next.handle();
  }
}
