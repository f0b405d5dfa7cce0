import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { AppRole, UploadNamespaceMode } from '../config/env.validation';
import { DeploymentSettingsRepository } from './deployment-settings.repository';

const SETTING = 'upload_namespace';
/** How long a worker trusts the mode it read: an API restarted with other credentials is followed within this. */
const CACHE_MS = 5000;
/** The API's first retry of an unrecorded mode; doubles up to the maximum and goes on until it lands. */
const RECORD_RETRY_FIRST_MS = 500;
const RECORD_RETRY_MAX_MS = 30000;

/**
 * A worker in auto mode with no mode recorded by an API yet. Retried like any transient
 * failure (not permanent): the task runs once an API has recorded its mode.
 */
export class UploadNamespaceUnknownError extends Error {
  constructor() {
    super(
      'UPLOAD_NAMESPACE=auto: no API process has recorded its upload mode in PostgreSQL yet, so this worker cannot tell ' +
        'whether the kb reads UPLOAD_DIR or UPLOAD_DIR/<kb_id>/; retried until an API has started (or set UPLOAD_NAMESPACE on every process)',
    );
    this.name = 'UploadNamespaceUnknownError';
  }
}

/**
 * Whether each kb reads only `UPLOAD_DIR/<kb_id>/`. An explicit UPLOAD_NAMESPACE is used as
 * it is. In auto the mode follows the credentials, which only an API process holds: every
 * API records the mode it checks paths with (resolved or explicit) in PostgreSQL, and a
 * worker-only process in auto follows that record —
 * otherwise a worker started without the API's keys would read the top of UPLOAD_DIR where
 * the API confined a kb to its own folder, and `kb_b/file` would be another kb's file.
 * The API keeps trying to record until it lands (PostgreSQL may be down when it starts);
 * until a record exists, a worker does not guess: reading a file fails with a retryable error.
 */
@Injectable()
export class UploadNamespaceService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(UploadNamespaceService.name);
  private readonly mode: UploadNamespaceMode;
  private readonly ownPerKb: boolean;
  private readonly followsApi: boolean;
  private readonly isApi: boolean;
  private cached?: { perKb: boolean; until: number };
  private retryTimer?: NodeJS.Timeout;
  private stopped = false;

  constructor(
    private readonly settings: DeploymentSettingsRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    const pipeline = config.getOrThrow('pipeline', { infer: true });
    this.mode = pipeline.uploadNamespace;
    this.ownPerKb = pipeline.uploadPerKb;
    this.isApi = config.getOrThrow('app.role', { infer: true }) !== AppRole.Worker;
    this.followsApi = this.mode === UploadNamespaceMode.Auto && !this.isApi;
  }

  onApplicationBootstrap(): void {
    // An explicit mode is recorded too: a worker left in auto then reads as that API checks paths.
    if (!this.isApi) return;
    // In the background: an unreachable PostgreSQL must neither delay nor stop the boot.
    void this.recordUntilLanded(RECORD_RETRY_FIRST_MS);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
  }

  async perKb(): Promise<boolean> {
    if (!this.followsApi) return this.ownPerKb;
    const now = Date.now();
    if (this.cached && this.cached.until > now) return this.cached.perKb;
    const recorded = await this.settings.read(SETTING);
    if (recorded === null) throw new UploadNamespaceUnknownError();
    const perKb = recorded === (UploadNamespaceMode.PerKb as string);
    this.cached = { perKb, until: now + CACHE_MS };
    return perKb;
  }

  /** The API's resolution is what its validator checks paths against: workers must read the same way. */
  private async recordUntilLanded(retryInMs: number): Promise<void> {
    try {
      await this.settings.record(SETTING, this.ownPerKb ? UploadNamespaceMode.PerKb : UploadNamespaceMode.Shared);
      if (retryInMs > RECORD_RETRY_FIRST_MS) this.logger.log('Upload namespace mode recorded for the workers');
    } catch (error) {
      if (this.stopped) return;
      this.logger.warn(
        `Upload namespace mode not recorded for the workers yet (${(error as Error).message}); trying again in ${retryInMs} ms`,
      );
      this.retryTimer = setTimeout(
        () => void this.recordUntilLanded(Math.min(retryInMs * 2, RECORD_RETRY_MAX_MS)),
        retryInMs,
      );
      this.retryTimer.unref();
    }
  }
}
