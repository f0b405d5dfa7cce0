import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrors } from '../common/decorators/api-errors.decorator';
import { ErrorCode } from '../common/errors/error-codes';
import { TaskStatsQueryDto } from './dto/stats-query.dto';
import { SystemStatsResponseDto, TaskStatsResponseDto } from './dto/stats-response.dto';
import { StatsService } from './stats.service';

@ApiTags('stats')
@Controller('api/v1/stats')
export class StatsController {
  constructor(private readonly stats: StatsService) {}

  @Get('tasks')
  @ApiOperation({ summary: 'Task counts by status and type, mean run time and success rate' })
  @ApiOkResponse({ type: TaskStatsResponseDto })
  @ApiErrors(ErrorCode.InvalidRequest, ErrorCode.ServiceUnavailable)
  tasks(@Query() query: TaskStatsQueryDto): Promise<TaskStatsResponseDto> {
    return this.stats.taskStats(query.kb_id);
  }

  @Get('system')
  @ApiOperation({ summary: 'Live workers, queue size, processing rate and task statistics' })
  @ApiOkResponse({ type: SystemStatsResponseDto })
  @ApiErrors(ErrorCode.ServiceUnavailable)
  system(): Promise<SystemStatsResponseDto> {
    return this.stats.systemStats();
  }
}
