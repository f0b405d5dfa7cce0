import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { SAMPLE_DOCUMENT_PATH, SampleDocumentService } from './sample-document.service';

describe('SampleDocumentService', () => {
  let uploads: string;
  const seed = (uploadPerKb: boolean) => {
    const config = { getOrThrow: () => ({ uploadDir: uploads, uploadPerKb }) } as unknown as ConfigService<
      AllConfig,
      true
    >;
    return new SampleDocumentService(config).onApplicationBootstrap();
  };

  beforeEach(() => {
    uploads = mkdtempSync(join(tmpdir(), 'tm-sample-'));
  });
  afterEach(() => {
    rmSync(uploads, { recursive: true, force: true });
  });

  it('puts the sample at the top of the upload folder when kbs share it', async () => {
    await seed(false);
    expect([existsSync(join(uploads, SAMPLE_DOCUMENT_PATH)), existsSync(join(uploads, 'kb_123456'))]).toEqual([
      true,
      false,
    ]);
  });

  it("also puts it in the example kb's own folder when each kb reads only its folder, so the examples run there too", async () => {
    await seed(true);
    expect(existsSync(join(uploads, 'kb_123456', SAMPLE_DOCUMENT_PATH))).toBe(true);
  });

  it('never overwrites a file that is there', async () => {
    await seed(false);
    writeFileSync(join(uploads, SAMPLE_DOCUMENT_PATH), 'mine');
    await seed(false);
    expect(readFileSync(join(uploads, SAMPLE_DOCUMENT_PATH), 'utf8')).toBe('mine');
  });
});
