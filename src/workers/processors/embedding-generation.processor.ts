import { Processor } from '@nestjs/bullmq';
import { EmbeddingService } from '../../kbs/embedding.service';
import { TextEmbeddingService } from '../../kbs/text-embedding.service';
import { TaskType } from '../../task-types/task-types';
import { TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

/**
 * `embedding_generation`: embeds texts given inline (returning or storing their vectors), or
 * the stored chunks in scope that have no embedding for the configured model.
 */
@Processor(TaskType.embedding_generation, { autorun: false })
export class EmbeddingGenerationProcessor extends TaskProcessor<typeof TaskType.embedding_generation> {
  readonly taskType = TaskType.embedding_generation;

  constructor(
    protected readonly lifecycle: TaskLifecycleService,
    private readonly embeddings: EmbeddingService,
    private readonly texts: TextEmbeddingService,
  ) {
    super();
  }

  protected handle({
    task,
    payload,
    signal,
    reportProgress,
  }: TaskContext<typeof TaskType.embedding_generation>): Promise<unknown> {
    const ctx = { kbId: task.kbId, signal, reportProgress };
    const { texts } = payload;
    return texts ? this.texts.embed({ ...payload, texts }, ctx) : this.embeddings.embedChunks(payload, ctx);
  }
}
