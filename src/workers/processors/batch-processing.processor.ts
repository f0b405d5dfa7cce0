import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { PermanentTaskError } from '../task-errors';
import { TaskLifecycleService } from '../task-lifecycle';

/** `batch_processing`: its pipeline stage is not built yet, so the task fails honestly instead of pretending. */
@Processor(TaskType.batch_processing, { autorun: false })
export class BatchProcessingProcessor extends WorkerHost {
  constructor(private readonly lifecycle: TaskLifecycleService) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run(job, async () => {
      throw new PermanentTaskError('batch_processing is not implemented yet');
    });
  }
}
