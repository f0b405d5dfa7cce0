import { Processor } from '@nestjs/bullmq';
import { DocumentIngestionService } from '../../kbs/document-ingestion.service';
import { TaskType } from '../../task-types/task-types';
import { AwaitChildren, TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

/** Share of a pipelined task's progress taken by its own step (the other stages share the rest). */
const OWN_STEP_SHARE = 25;

/**
 * `document_processing`: extracts, chunks and stores one uploaded document. With
 * `pipeline: true` the task then waits while embedding_generation, vector_storage and
 * knowledge_indexing run for the document as its child tasks.
 */
@Processor(TaskType.document_processing, { autorun: false })
export class DocumentProcessingProcessor extends TaskProcessor<typeof TaskType.document_processing> {
  readonly taskType = TaskType.document_processing;

  constructor(
    protected readonly lifecycle: TaskLifecycleService,
    private readonly ingestion: DocumentIngestionService,
  ) {
    super();
  }

  protected async handle({
    task,
    payload,
    signal,
    reportProgress,
  }: TaskContext<typeof TaskType.document_processing>): Promise<unknown> {
    const scale = payload.pipeline ? OWN_STEP_SHARE / 100 : 1;
    const result = await this.ingestion.ingest(payload, {
      taskId: task.id,
      kbId: task.kbId,
      signal,
      reportProgress: (progress, message) => reportProgress(progress * scale, message),
    });
    return payload.pipeline ? new AwaitChildren({ ...result }, [], OWN_STEP_SHARE) : result;
  }
}
