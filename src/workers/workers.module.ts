import { Module } from '@nestjs/common';
import { HealthModule } from '../health/health.module';
import { KbsModule } from '../kbs/kbs.module';
import { TaskEngineModule } from '../task-engine/task-engine.module';
import { TasksModule } from '../tasks/tasks.module';
import { BatchProcessingProcessor } from './processors/batch-processing.processor';
import { DocumentProcessingProcessor } from './processors/document-processing.processor';
import { EmbeddingGenerationProcessor } from './processors/embedding-generation.processor';
import { HealthCheckProcessor } from './processors/health-check.processor';
import { KnowledgeIndexingProcessor } from './processors/knowledge-indexing.processor';
import { VectorStorageProcessor } from './processors/vector-storage.processor';
import { TaskCancellationService } from './task-cancellation.service';
import { TaskLifecycleService } from './task-lifecycle';
import { WorkerBootstrapService } from './worker-bootstrap.service';
import { WorkerHeartbeatService } from './worker-heartbeat.service';
import { makeWorkerId, WORKER_ID } from './worker-identity';

/** The worker role: one processor per task type, all going through the task lifecycle. */
@Module({
  imports: [HealthModule, TaskEngineModule, TasksModule, KbsModule],
  providers: [
    { provide: WORKER_ID, useFactory: makeWorkerId },
    TaskLifecycleService,
    TaskCancellationService,
    WorkerHeartbeatService,
    WorkerBootstrapService,
    DocumentProcessingProcessor,
    BatchProcessingProcessor,
    KnowledgeIndexingProcessor,
    EmbeddingGenerationProcessor,
    VectorStorageProcessor,
    HealthCheckProcessor,
  ],
})
export class WorkersModule {}
