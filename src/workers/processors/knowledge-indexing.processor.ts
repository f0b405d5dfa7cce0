import { Processor } from '@nestjs/bullmq';
import { IndexingService } from '../../kbs/indexing.service';
import { TaskType } from '../../task-types/task-types';
import { TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

/** `knowledge_indexing`: rebuilds the kb's full-text index and its vector index (HNSW with pgvector), for the kb or some of its documents, and reports what is searchable. */
@Processor(TaskType.knowledge_indexing, { autorun: false })
export class KnowledgeIndexingProcessor extends TaskProcessor<typeof TaskType.knowledge_indexing> {
  readonly taskType = TaskType.knowledge_indexing;

  constructor(
    protected readonly lifecycle: TaskLifecycleService,
    private readonly indexing: IndexingService,
  ) {
    super();
  }

  protected handle({
    task,
    payload,
    signal,
    reportProgress,
  }: TaskContext<typeof TaskType.knowledge_indexing>): Promise<unknown> {
    return this.indexing.rebuild(payload, { kbId: task.kbId, signal, reportProgress });
  }
}
