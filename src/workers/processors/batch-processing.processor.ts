import { Processor } from '@nestjs/bullmq';
import { childDefaults } from '../../task-engine/task-family.service';
import type { NewTask, TaskRecord } from '../../task-types/task-record';
import { PayloadOf, taskDefaults } from '../../task-types/task-type-registry';
import { TaskType } from '../../task-types/task-types';
import { AwaitChildren, TaskContext, TaskLifecycleService } from '../task-lifecycle';
import { TaskProcessor } from '../task-processor';

/**
 * `batch_processing`: creates its child tasks — the given task requests, or one
 * document_processing task per file — and completes when all of them have finished,
 * with their outcomes listed in its result. Its progress is the children's aggregate.
 */
@Processor(TaskType.batch_processing, { autorun: false })
export class BatchProcessingProcessor extends TaskProcessor<typeof TaskType.batch_processing> {
  readonly taskType = TaskType.batch_processing;

  constructor(protected readonly lifecycle: TaskLifecycleService) {
    super();
  }

  protected async handle({ task, payload }: TaskContext<typeof TaskType.batch_processing>): Promise<unknown> {
    const children = toChildren(task, payload);
    return new AwaitChildren({ children: children.length }, children, 0);
  }
}

function toChildren(parent: TaskRecord, payload: PayloadOf<typeof TaskType.batch_processing>): NewTask[] {
  const defaults = childDefaults(parent);
  if (payload.file_paths) {
    return payload.file_paths.map((file_path) => ({
      ...defaults,
      taskType: TaskType.document_processing,
      payload: {
        file_path,
        ...(payload.chunk_size === undefined ? {} : { chunk_size: payload.chunk_size }),
        ...(payload.chunk_overlap === undefined ? {} : { chunk_overlap: payload.chunk_overlap }),
        ...(payload.pipeline ? { pipeline: true } : {}),
      },
    }));
  }
  return (payload.items ?? []).map((item) => ({
    ...defaults,
    taskType: item.task_type,
    priority: item.priority ?? defaults.priority,
    // The item's payload as the caller sent it: the child's processor validates its own view.
    payload: item.payload,
    maxRetries: item.max_retries ?? taskDefaults(item.task_type).maxRetries,
    timeoutSeconds: item.timeout ?? taskDefaults(item.task_type).timeoutSeconds,
    scheduleFor: item.schedule_for ? new Date(item.schedule_for) : null,
  }));
}
