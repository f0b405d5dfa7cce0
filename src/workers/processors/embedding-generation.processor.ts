import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { EmbeddingService } from '../../kbs/embedding.service';
import { TextEmbeddingService } from '../../kbs/text-embedding.service';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { TaskLifecycleService } from '../task-lifecycle';

/**
 * `embedding_generation`: embeds texts given inline (returning or storing their vectors), or
 * the stored chunks in scope that have no embedding for the configured model.
 */
@Processor(TaskType.embedding_generation, { autorun: false })
export class EmbeddingGenerationProcessor extends WorkerHost {
  constructor(
    private readonly lifecycle: TaskLifecycleService,
    private readonly embeddings: EmbeddingService,
    private readonly texts: TextEmbeddingService,
  ) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run<typeof TaskType.embedding_generation>(job, ({ task, payload, signal, reportProgress }) => {
      const ctx = { kbId: task.kbId, signal, reportProgress };
      const { texts } = payload;
      return texts ? this.texts.embed({ ...payload, texts }, ctx) : this.embeddings.embedChunks(payload, ctx);
    });
  }
}
