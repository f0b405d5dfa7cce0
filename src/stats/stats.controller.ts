import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { KbScope, RequireRole } from '../common/decorators/auth.decorators';
import { ErrorCode } from '../common/errors/error-codes';
import { Role } from '../common/security/roles';
import { TaskStatsQueryDto, TimeseriesQueryDto } from './dto/stats-query.dto';
import { SystemStatsResponseDto, TaskStatsResponseDto, TimeseriesResponseDto } from './dto/stats-response.dto';
import { StatsService } from './stats.service';

@ApiTags('stats')
@Controller('api/v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('tasks')
  @ApiOperation({ summary: 'Task counts by status and type, mean run time and success rate' })
  @ApiOkResponse({ type: TaskStatsResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  tasks(@Query() query: TaskStatsQueryDto, @KbScope() scope: readonly string[] | null): Promise<TaskStatsResponseDto> {
    return this.stats.taskStats(query.kb_id, scope);
  }

  @Get('timeseries')
  @ApiOperation({
    summary: 'Finished tasks per minute, hour or day (completed = throughput, failed, cancelled), for one kb or all',
  })
  @ApiOkResponse({ type: TimeseriesResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  timeseries(
    @Query() query: TimeseriesQueryDto,
    @KbScope() scope: readonly string[] | null,
  ): Promise<TimeseriesResponseDto> {
    return this.stats.timeseries(query.kb_id, query.bucket, query.buckets, scope);
  }

  @Get('system')
  @RequireRole(Role.Admin)
  @ApiOperation({ summary: 'Live workers, queue size, processing rate and task statistics' })
  @ApiOkResponse({ type: SystemStatsResponseDto })
  @ApiErrors(ErrorCode.ServiceUnavailable)
  system(): Promise<SystemStatsResponseDto> {
    return this.stats.systemStats();
  }
}
