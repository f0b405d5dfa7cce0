import { Controller, Get, HttpStatus, Inject, Res } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckResult, HealthCheckService, HealthIndicatorFunction } from '@nestjs/terminus';
import type { FastifyReply } from 'fastify';
import { Public } from '../common/decorators/auth.decorators';
import type { AllConfig } from '../config/app.config';
import { HealthResponseDto } from './dto/health-response.dto';
import { DependencyHealthIndicators } from './indicators/dependency.health';

const SERVICE_NAME = 'task-manager';

/** Public: orchestrators and load balancers probe without credentials; no task data is shown. */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  private readonly version: string;

  constructor(
    private readonly health: HealthCheckService,
    private readonly dependencies: DependencyHealthIndicators,
    @Inject(ConfigService) config: ConfigService<AllConfig, true>,
  ) {
    this.version = config.getOrThrow('app.version', { infer: true });
  }

  @Get()
  @ApiOperation({
    summary: 'Service health: database, Redis (with waiting-job count as size), queues and the vector store backend',
  })
  @ApiOkResponse({ type: HealthResponseDto })
  @ApiServiceUnavailableResponse({
    type: HealthResponseDto,
    description: 'A dependency is down; it is marked unhealthy',
  })
  async check(@Res({ passthrough: true }) res: FastifyReply): Promise<HealthResponseDto> {
    return this.respond(res, [
      () => this.dependencies.database(),
      () => this.dependencies.redis(),
      () => this.dependencies.queue(),
      () => this.dependencies.vectorStore(),
    ]);
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness for orchestrators: the process answers; no dependency is checked' })
  @ApiOkResponse({ type: HealthResponseDto })
  live(): HealthResponseDto {
    return { status: 'healthy', service: SERVICE_NAME, version: this.version, details: {} };
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness for orchestrators: PostgreSQL and Redis answer' })
  @ApiOkResponse({ type: HealthResponseDto })
  @ApiServiceUnavailableResponse({ type: HealthResponseDto })
  async ready(@Res({ passthrough: true }) res: FastifyReply): Promise<HealthResponseDto> {
    return this.respond(res, [() => this.dependencies.database(), () => this.dependencies.redis()]);
  }

  private async respond(res: FastifyReply, checks: HealthIndicatorFunction[]): Promise<HealthResponseDto> {
    const result = await this.health.check(checks).catch((error: unknown) => {
      // Terminus reports a failed check by throwing an error whose `response` is the full result.
      const response = (error as { response?: HealthCheckResult } | null)?.response;
      if (response?.details) return response;
      throw error;
    });
    const healthy = result.status === 'ok';
    res.status(healthy ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
    const details = Object.fromEntries(
      Object.entries(result.details).map(([key, { status, ...data }]) => [
        key,
        { status: status === 'up' ? ('healthy' as const) : ('unhealthy' as const), ...data },
      ]),
    );
    return { status: healthy ? 'healthy' : 'unhealthy', service: SERVICE_NAME, version: this.version, details };
  }
}
