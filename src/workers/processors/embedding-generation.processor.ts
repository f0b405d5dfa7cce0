import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { EmbeddingService } from '../../kbs/embedding.service';
import type { EmbeddingGenerationPayload } from '../../kbs/kb-payloads';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { TaskLifecycleService } from '../task-lifecycle';

/** `embedding_generation`: embeds the chunks in scope that have no embedding for the configured model. */
@Processor(TaskType.embedding_generation, { autorun: false })
export class EmbeddingGenerationProcessor extends WorkerHost {
  constructor(
    private readonly lifecycle: TaskLifecycleService,
    private readonly embeddings: EmbeddingService,
  ) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run(job, ({ task, payload, signal, reportProgress }) =>
      this.embeddings.embedChunks(payload as EmbeddingGenerationPayload, { kbId: task.kbId, signal, reportProgress }),
    );
  }
}
