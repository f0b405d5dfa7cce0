import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import type { BatchProcessingPayload } from '../../kbs/kb-payloads';
import { TaskJobData, TaskType } from '../../queues/task-types';
import { DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT_SECONDS } from '../../tasks/dto/create-task.dto';
import { childDefaults } from '../../task-engine/task-family.service';
import type { NewTask, TaskRecord } from '../../task-engine/task-record';
import { AwaitChildren, TaskLifecycleService } from '../task-lifecycle';

/**
 * `batch_processing`: creates its child tasks — the given task requests, or one
 * document_processing task per file — and completes when all of them have finished,
 * with their outcomes listed in its result. Its progress is the children's aggregate.
 */
@Processor(TaskType.batch_processing, { autorun: false })
export class BatchProcessingProcessor extends WorkerHost {
  constructor(private readonly lifecycle: TaskLifecycleService) {
    super();
  }

  process(job: Job<TaskJobData>): Promise<unknown> {
    return this.lifecycle.run<typeof TaskType.batch_processing>(job, async ({ task, payload }) => {
      const children = toChildren(task, payload);
      return new AwaitChildren({ children: children.length }, children, 0);
    });
  }
}

function toChildren(parent: TaskRecord, payload: BatchProcessingPayload): NewTask[] {
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
    maxRetries: item.max_retries ?? DEFAULT_MAX_RETRIES,
    timeoutSeconds: item.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    scheduleFor: item.schedule_for ? new Date(item.schedule_for) : null,
  }));
}
