import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { AppRole, UploadNamespaceMode } from '../config/env.validation';
import { DeploymentSettingsRepository } from './deployment-settings.repository';
import { errorMessage } from '../common/errors/error-message';

const SETTING = 'upload_namespace';
/** How long a worker trusts the mode it read: an API restarted with other credentials is followed within this. */
const CACHE_MS = 5000;

/**
 * Whether each kb reads only `UPLOAD_DIR/<kb_id>/`. An explicit UPLOAD_NAMESPACE is used as
 * it is. In auto the mode follows the credentials, which only an API process holds: the API
 * resolves it and records it in PostgreSQL at start, and a worker-only process follows that
 * record — otherwise a worker started without the API's keys would read the top of
 * UPLOAD_DIR where the API confined a kb to its own folder, and `kb_b/file` would be another
 * kb's file. Until an API has recorded a mode, a worker uses its own resolution.
 */
@Injectable()
export class UploadNamespaceService implements OnApplicationBootstrap {
  private readonly logger = new Logger(UploadNamespaceService.name);
  private readonly mode: UploadNamespaceMode;
  private readonly ownPerKb: boolean;
  private readonly followsApi: boolean;
  private cached?: { perKb: boolean; until: number };

  constructor(
    private readonly settings: DeploymentSettingsRepository,
    config: ConfigService<AllConfig, true>,
  ) {
    const pipeline = config.getOrThrow('pipeline', { infer: true });
    this.mode = pipeline.uploadNamespace;
    this.ownPerKb = pipeline.uploadPerKb;
    this.followsApi = this.mode === UploadNamespaceMode.Auto && config.getOrThrow('app.role', { infer: true }) === AppRole.Worker;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (this.mode !== UploadNamespaceMode.Auto || this.followsApi) return;
    // The API's resolution is what its validator checks paths against: workers must read the same way.
    await this.settings
      .record(SETTING, this.ownPerKb ? UploadNamespaceMode.PerKb : UploadNamespaceMode.Shared)
      .catch((error: unknown) => this.logger.warn(`Upload namespace mode not recorded for the workers: ${errorMessage(error)}`));
  }

  async perKb(): Promise<boolean> {
    if (!this.followsApi) return this.ownPerKb;
    const now = Date.now();
    if (this.cached && this.cached.until > now) return this.cached.perKb;
    const recorded = await this.settings.read(SETTING);
    const perKb = recorded === null ? this.ownPerKb : recorded === (UploadNamespaceMode.PerKb as string);
    this.cached = { perKb, until: now + CACHE_MS };
    return perKb;
  }
}
