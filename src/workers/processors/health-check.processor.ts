import { setTimeout as delay } from 'node:timers/promises';
import { Processor } from '@nestjs/bullmq';
import { round } from '../../common/utils/round';
import { ComponentHealth, HealthProbeService } from '../../health/health-probe.service';
import { HEALTH_COMPONENTS, HealthComponent, TaskType } from '../../task-types/task-types';
import { TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

interface ComponentSummary {
  status: 'healthy' | 'unhealthy';
  samples: number;
  failures: number;
  latency_ms: { min: number; avg: number; max: number } | null;
  last: ComponentHealth;
}

/**
 * `health_check`: probes PostgreSQL, Redis and the queues for real and returns what it
 * found. With `samples` > 1 it probes repeatedly, `interval_ms` apart, and reports latency
 * min/avg/max and failures per component — a synthetic check over a time window.
 */
@Processor(TaskType.health_check, { autorun: false })
export class HealthCheckProcessor extends TaskProcessor<typeof TaskType.health_check> {
  readonly taskType = TaskType.health_check;

  constructor(
    protected readonly lifecycle: TaskLifecycleService,
    private readonly probe: HealthProbeService,
  ) {
    super();
  }

  protected async handle({ payload, reportProgress, signal }: TaskContext<typeof TaskType.health_check>) {
    const components = payload.checks ? [...new Set(payload.checks)] : HEALTH_COMPONENTS;
    const samples = payload.samples ?? 1;
    const intervalMs = payload.interval_ms ?? 0;
    const probes: Record<HealthComponent, () => Promise<ComponentHealth>> = {
      database: () => this.probe.database(),
      redis: () => this.probe.redisServer(),
      queues: () => this.probe.queueSystem(),
    };
    const results = new Map<HealthComponent, ComponentHealth[]>(components.map((c) => [c, []]));
    for (let round = 1; round <= samples; round++) {
      signal.throwIfAborted();
      for (const component of components) results.get(component)!.push(await probes[component]());
      // A single round's progress would be overwritten by the completion a moment later.
      if (samples > 1) await reportProgress((round / samples) * 100, `Probe round ${round} of ${samples}`);
      if (round < samples && intervalMs > 0) await delay(intervalMs, undefined, { signal });
    }
    const checks = Object.fromEntries(components.map((c) => [c, summarize(results.get(c)!)]));
    const healthy = Object.values(checks).every((c) => c.status === 'healthy');
    return { status: healthy ? 'healthy' : 'unhealthy', checks, checked_at: new Date().toISOString() };
  }
}

function summarize(results: ComponentHealth[]): ComponentSummary {
  const latencies = results.flatMap((r) => (typeof r.latency_ms === 'number' ? [r.latency_ms] : []));
  const failures = results.filter((r) => r.status !== 'healthy').length;
  return {
    status: failures === 0 ? 'healthy' : 'unhealthy',
    samples: results.length,
    failures,
    latency_ms:
      latencies.length === 0
        ? null
        : {
            min: round(Math.min(...latencies), 2),
            avg: round(latencies.reduce((a, b) => a + b, 0) / latencies.length, 2),
            max: round(Math.max(...latencies), 2),
          },
    last: results[results.length - 1],
  };
}
