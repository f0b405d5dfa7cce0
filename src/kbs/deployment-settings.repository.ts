import { Injectable } from '@nestjs/common';
import { PrismaService } from '../prisma/prisma.service';

/** Facts an API process decides and every process reads back (table deployment_settings). */
@Injectable()
export class DeploymentSettingsRepository {
  constructor(private readonly prisma: PrismaService) {}

  async record(key: string, value: string): Promise<void> {
    await this.prisma.deploymentSetting.upsert({
      where: { key },
      create: { key, value },
      update: { value, updatedAt: new Date() },
    });
  }

  async read(key: string): Promise<string | null> {
    return (await this.prisma.deploymentSetting.findUnique({ where: { key }, select: { value: true } }))?.value ?? null;
  }
}
