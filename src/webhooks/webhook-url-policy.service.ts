import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { Injectable } from '@nestjs/common';
import { ConfigService } from '@nestjs/config';
import type { AllConfig } from '../config/app.config';
import { isAllowedHost, isPublicAddress } from './address-ranges';

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** A callback URL the service will not call; the message says why (it completes "callback_url …"). */
export class WebhookRefusedError extends Error {
  override readonly name = 'WebhookRefusedError';
}

/**
 * Decides which callback URLs may be called — at create time (a refusal is a 400) and again
 * before every delivery, since DNS may have changed since. http(s) only, no credentials in
 * the URL, the host on WEBHOOK_ALLOWED_HOSTS when that is set, and every address the name
 * resolves to public unless WEBHOOK_ALLOW_PRIVATE — one private address among several is
 * enough to refuse, or a round-robin name could slip through. Delivery then connects only to
 * the addresses checked here, so a name cannot be re-pointed between check and connect.
 */
@Injectable()
export class WebhookUrlPolicy {
  private readonly allowedHosts: string[];
  private readonly allowPrivate: boolean;

  constructor(config: ConfigService<AllConfig, true>) {
    const webhooks = config.getOrThrow('webhooks', { infer: true });
    this.allowedHosts = webhooks.allowedHosts;
    this.allowPrivate = webhooks.allowPrivate;
  }

  /** Why `url` is refused, or null when it may be called. */
  async refusal(url: string): Promise<string | null> {
    try {
      await this.resolve(url);
      return null;
    } catch (error) {
      if (error instanceof WebhookRefusedError) return error.message;
      throw error;
    }
  }

  /** The checked addresses to connect to for `url`; throws WebhookRefusedError. */
  async resolve(url: string): Promise<ResolvedAddress[]> {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new WebhookRefusedError('callback_url must be an absolute http(s) URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
      throw new WebhookRefusedError('callback_url must use http or https');
    if (parsed.username || parsed.password) throw new WebhookRefusedError('callback_url must not contain credentials');
    const host = parsed.hostname.replace(/^\[|\]$/g, '');
    if (!isAllowedHost(host, this.allowedHosts)) {
      throw new WebhookRefusedError(`callback_url host ${host} is not on the allowed webhook hosts`);
    }
    const addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await this.lookup(host);
    if (!this.allowPrivate) {
      const internal = addresses.find((a) => !isPublicAddress(a.address));
      if (internal)
        throw new WebhookRefusedError(
          `callback_url resolves to ${internal.address}, a private, loopback or link-local address`,
        );
    }
    return addresses;
  }

  private async lookup(host: string): Promise<ResolvedAddress[]> {
    const addresses = await lookup(host, { all: true, verbatim: true }).catch(() => []);
    if (addresses.length === 0) throw new WebhookRefusedError(`callback_url host ${host} could not be resolved`);
    return addresses;
  }
}
