import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { DomainError } from '../common/errors/domain.error';
import { ErrorCode } from '../common/errors/error-codes';

/** The page's files; nothing else under /dashboard is served. */
const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};
/** Copied next to the compiled controller by nest build (nest-cli.json assets). */
const PUBLIC_DIR = join(__dirname, 'public');

/**
 * The dashboard: one static page with its script and style, served by the API itself (no
 * separate server, no build step). It talks to the public REST API and SSE streams only.
 */
interface PageFile {
  body: Buffer;
  type: string;
  etag: string;
}

@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  /** Three small files, read once: they change only with a new build. */
  private readonly files = new Map<string, PageFile>(
    Object.entries(FILES).map(([name, type]) => {
      const body = readFileSync(join(PUBLIC_DIR, name));
      return [name, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` }];
    }),
  );

  @Get()
  page(@Headers('if-none-match') ifNoneMatch: string | undefined, @Res() res: FastifyReply): void {
    this.send(res, 'index.html', ifNoneMatch);
  }

  @Get(':file')
  asset(
    @Param('file') file: string,
    @Headers('if-none-match') ifNoneMatch: string | undefined,
    @Res() res: FastifyReply,
  ): void {
    if (!Object.hasOwn(FILES, file)) throw new DomainError(ErrorCode.NotFound, `No dashboard file ${file}`, { file });
    this.send(res, file, ifNoneMatch);
  }

  private send(res: FastifyReply, name: string, ifNoneMatch: string | undefined): void {
    const file = this.files.get(name)!;
    // Revalidated on every load (ETag), so a new version shows at once.
    res.header('Cache-Control', 'no-cache').header('ETag', file.etag);
    if (ifNoneMatch === file.etag) {
      void res.status(304).send();
      return;
    }
    void res.type(file.type).send(file.body);
  }
}
