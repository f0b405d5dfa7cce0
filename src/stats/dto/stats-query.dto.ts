import { EnumField, IntField, StringField } from '../../common/decorators/validation.decorators';
import { KB_ID_PATTERN } from '../../common/utils/id-patterns';

/** `GET /api/v1/stats/tasks`: all tasks, or one knowledge base's. */
export class TaskStatsQueryDto {
  @StringField({ required: false, maxLength: 128, pattern: KB_ID_PATTERN, example: 'kb_123' })
  kb_id?: string;
}

export const TIMESERIES_BUCKETS = ['minute', 'hour', 'day'] as const;
export type TimeseriesBucket = (typeof TIMESERIES_BUCKETS)[number];

/** `GET /api/v1/stats/timeseries`: finished tasks per time bucket, for one knowledge base or all. */
export class TimeseriesQueryDto {
  @StringField({ required: false, maxLength: 128, pattern: KB_ID_PATTERN, example: 'kb_123' })
  kb_id?: string;

  @EnumField(TIMESERIES_BUCKETS, { required: false, default: 'minute', description: 'Width of one bucket' })
  bucket: TimeseriesBucket = 'minute';

  @IntField({
    required: false,
    min: 1,
    max: 1440,
    default: 60,
    fromQuery: true,
    description: 'How many buckets back from now, the current one included',
  })
  buckets = 60;
}
