import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { PermanentTaskError } from '../task-errors';
import { TaskLifecycleService } from '../task-lifecycle';

/** `vector_storage`: its pipeline stage is not built yet, so the task fails honestly instead of pretending. */
@Processor(TaskType.vector_storage, { autorun: false })
export class VectorStorageProcessor extends WorkerHost {
  constructor(private readonly lifecycle: TaskLifecycleService) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run(job, async () => {
      throw new PermanentTaskError('vector_storage is not implemented yet');
    });
  }
}
