import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import { EXAMPLE_KB_ID } from '../common/decorators/path-param.decorator';
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
 * the API docs (which process \`examples/getting-started.md\`, in kb_123456) run as they
 * are on a fresh start: at the top of UPLOAD_DIR, and in kb_123456's own folder where each kb
 * reads only its folder. An existing file is never overwritten, and a folder the service
 * cannot write to only costs the sample, not the boot.
 */
@Injectable()
export class SampleDocumentService implements OnApplicationBootstrap {
  private readonly logger = new Logger(SampleDocumentService.name);
  private readonly paths: string[];

  constructor(config: ConfigService<AllConfig, true>) {
    const { uploadDir, uploadPerKb } = config.getOrThrow('pipeline', { infer: true });
    this.paths = [
      join(uploadDir, SAMPLE_DOCUMENT_PATH),
      ...(uploadPerKb ? [join(uploadDir, EXAMPLE_KB_ID, SAMPLE_DOCUMENT_PATH)] : []),
    ];
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const path of this.paths) {
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, SAMPLE_DOCUMENT, { flag: 'wx' });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') {
          this.logger.warn(`Could not write the sample document ${path}: ${(error as Error).message}`);
        }
      }
    }
  }
}
