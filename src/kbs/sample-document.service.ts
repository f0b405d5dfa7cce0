import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';

/** Where the sample document lives, relative to UPLOAD_DIR: the path the API's examples name. */
export const SAMPLE_DOCUMENT_PATH = 'examples/getting-started.md';

const SAMPLE_DOCUMENT = `# Getting started with task-manager

task-manager runs the background work of the knowledge-base platform: it extracts and
chunks uploaded documents, embeds the chunks, stores the vectors and rebuilds the search
indexes, each step a task that is queued, retried on failure and tracked until it ends.

## Submitting work

POST a task to /api/v1/tasks with its task_type, the kb_id it belongs to and a payload.
The answer is the stored task; follow it with GET /api/v1/tasks/{task_id} or the event
stream, and cancel or retry it when needed.

## Searching

Once a document has been processed, embedded, stored and indexed, GET
/api/v1/kbs/{kb_id}/search finds its chunks by meaning and by words.
`;

/**
 * Puts a small sample document in the upload folder at boot, so the request examples of
 * the API docs (which process \`examples/getting-started.md\`) run as they are on a fresh
 * start. An existing file is never overwritten, and a folder the service cannot write to
 * only costs the sample, not the boot.
 */
@Injectable()
export class SampleDocumentService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SampleDocumentService.name);
  private readonly path: string;

  constructor(config: ConfigService<AllConfig, true>) {
    this.path = join(config.getOrThrow('pipeline.uploadDir', { infer: true }), SAMPLE_DOCUMENT_PATH);
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      await mkdir(dirname(this.path), { recursive: true });
      await writeFile(this.path, SAMPLE_DOCUMENT, { flag: 'wx' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
        this.logger.warn(`Could not write the sample document ${this.path}: ${(error as Error).message}`);
      }
    }
  }
}
