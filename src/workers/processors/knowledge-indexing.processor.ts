import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { IndexingService } from '../../kbs/indexing.service';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { TaskLifecycleService } from '../task-lifecycle';

/** `knowledge_indexing`: rebuilds the kb's full-text index and its vector index (HNSW with pgvector), for the kb or some of its documents, and reports what is searchable. */
@Processor(TaskType.knowledge_indexing, { autorun: false })
export class KnowledgeIndexingProcessor extends WorkerHost {
  constructor(
    private readonly lifecycle: TaskLifecycleService,
    private readonly indexing: IndexingService,
  ) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run<typeof TaskType.knowledge_indexing>(job, ({ task, payload, signal, reportProgress }) =>
      this.indexing.rebuild(payload, { kbId: task.kbId, signal, reportProgress }),
    );
  }
}
