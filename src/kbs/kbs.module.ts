import { Module } from '@nestjs/common';
import { DeploymentSettingsRepository } from './deployment-settings.repository';
import { DocumentIngestionService } from './document-ingestion.service';
import { embeddingProviderProvider } from './embedding-provider.provider';
import { EmbeddingService } from './embedding.service';
import { FloatArrayVectorRepository } from './float-array-vector.repository';
import { IndexingService } from './indexing.service';
import { KnowledgeBaseRepository } from './knowledge-base.repository';
import { PgvectorVectorRepository } from './pgvector-vector.repository';
import { SampleDocumentService } from './sample-document.service';
import { SearchService } from './search.service';
import { TextEmbeddingService } from './text-embedding.service';
import { UploadNamespaceService } from './upload-namespace.service';
import { VectorStoreService } from './vector-store.service';

/** Knowledge-base content: the pipeline stages the processors run, and the search and listings the API serves (its controller is in ApiModule). */
@Module({
  providers: [
    KnowledgeBaseRepository,
    embeddingProviderProvider,
    DocumentIngestionService,
    EmbeddingService,
    FloatArrayVectorRepository,
    PgvectorVectorRepository,
    VectorStoreService,
    IndexingService,
    SearchService,
    TextEmbeddingService,
    SampleDocumentService,
    DeploymentSettingsRepository,
    UploadNamespaceService,
  ],
  exports: [
    KnowledgeBaseRepository,
    DocumentIngestionService,
    EmbeddingService,
    TextEmbeddingService,
    VectorStoreService,
    IndexingService,
    SearchService,
  ],
})
export class KbsModule {}
