import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { VectorStoreService } from '../../kbs/vector-store.service';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { TaskLifecycleService } from '../task-lifecycle';

/** `vector_storage`: upserts given vectors, or a document's chunk embeddings, into the kb's vector store. */
@Processor(TaskType.vector_storage, { autorun: false })
export class VectorStorageProcessor extends WorkerHost {
  constructor(
    private readonly lifecycle: TaskLifecycleService,
    private readonly vectors: VectorStoreService,
  ) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run<typeof TaskType.vector_storage>(job, ({ task, payload, signal, reportProgress }) =>
      this.vectors.store(payload, { kbId: task.kbId, signal, reportProgress }),
    );
  }
}
