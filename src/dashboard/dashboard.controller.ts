import { join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
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
@ApiExcludeController()
@Controller('dashboard')
export class DashboardController {
  @Get()
  page(@Res() res: Response): void {
    this.send(res, 'index.html');
  }

  @Get(':file')
  asset(@Param('file') file: string, @Res() res: Response): void {
    if (!Object.hasOwn(FILES, file)) throw new DomainError(ErrorCode.NotFound, `No dashboard file ${file}`, { file });
    this.send(res, file);
  }

  private send(res: Response, file: string): void {
    // Revalidated on every load (ETag), so a new version shows at once.
    res.setHeader('Cache-Control', 'no-cache');
    res.type(FILES[file]).sendFile(join(PUBLIC_DIR, file));
  }
}
