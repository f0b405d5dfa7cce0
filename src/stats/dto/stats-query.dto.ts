import { StringField } from '../../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../../tasks/dto/create-task.dto';

/** `GET /api/v1/stats/tasks`: all tasks, or one knowledge base's. */
export class TaskStatsQueryDto {
  @StringField({ required: false, maxLength: 128, pattern: KB_ID_PATTERN, example: 'kb_123' })
  kb_id?: string;
}
