import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { DocumentIngestionService } from '../../kbs/document-ingestion.service';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { AwaitChildren, TaskLifecycleService } from '../task-lifecycle';

/** Share of a pipelined task's progress taken by its own step (the other stages share the rest). */
const OWN_STEP_SHARE = 25;

/**
 * `document_processing`: extracts, chunks and stores one uploaded document. With
 * `pipeline: true` the task then waits while embedding_generation, vector_storage and
 * knowledge_indexing run for the document as its child tasks.
 */
@Processor(TaskType.document_processing, { autorun: false })
export class DocumentProcessingProcessor extends WorkerHost {
  constructor(
    private readonly lifecycle: TaskLifecycleService,
    private readonly ingestion: DocumentIngestionService,
  ) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run<typeof TaskType.document_processing>(job, async ({ task, payload, signal, reportProgress }) => {
      const scale = payload.pipeline ? OWN_STEP_SHARE / 100 : 1;
      const result = await this.ingestion.ingest(payload, {
        taskId: task.id,
        kbId: task.kbId,
        signal,
        reportProgress: (progress, message) => reportProgress(progress * scale, message),
      });
      return payload.pipeline ? new AwaitChildren({ ...result }, [], OWN_STEP_SHARE) : result;
    });
  }
}
