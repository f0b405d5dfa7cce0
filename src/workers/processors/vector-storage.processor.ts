import { Processor } from '@nestjs/bullmq';
import { VectorStoreService } from '../../kbs/vector-store.service';
import { TaskType } from '../../task-types/task-types';
import { TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

/** `vector_storage`: upserts given vectors, or a document's chunk embeddings, into the kb's vector store. */
@Processor(TaskType.vector_storage, { autorun: false })
export class VectorStorageProcessor extends TaskProcessor<typeof TaskType.vector_storage> {
  readonly taskType = TaskType.vector_storage;

  constructor(
    protected readonly lifecycle: TaskLifecycleService,
    private readonly vectors: VectorStoreService,
  ) {
    super();
  }

  protected handle({
    task,
    payload,
    signal,
    reportProgress,
  }: TaskContext<typeof TaskType.vector_storage>): Promise<unknown> {
    return this.vectors.store(payload, { kbId: task.kbId, signal, reportProgress });
  }
}
