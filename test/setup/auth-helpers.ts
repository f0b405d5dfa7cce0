import { createHash, createHmac, KeyObject, randomBytes, sign } from 'node:crypto';
import http, { IncomingHttpHeaders } from 'node:http';

/** A fresh random API key and the entry that configures it (by digest) in API_KEYS. */
export function makeKey(name: string, role: string, kbIds?: string[]): { key: string; entry: Record<string, unknown> } {
  const key = `tm_${name}_${randomBytes(24).toString('base64url')}`;
  const sha256 = createHash('sha256').update(key).digest('hex');
  return { key, entry: { name, sha256, role, ...(kbIds ? { kb_ids: kbIds } : {}) } };
}

export type JwtSigner = { alg: 'HS256'; secret: string } | { alg: 'RS256' | 'ES256'; privateKey: KeyObject };

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS, signed as a real issuer would (or as an attacker would, with `header` overrides). */
export function signJwt(
  claims: Record<string, unknown>,
  signer: JwtSigner,
  header: Record<string, unknown> = {},
): string {
  const input = `${b64({ alg: signer.alg, typ: 'JWT', ...header })}.${b64(claims)}`;
  let signature: Buffer;
  if (signer.alg === 'HS256') signature = createHmac('sha256', signer.secret).update(input).digest();
  else if (signer.alg === 'RS256') signature = sign('sha256', Buffer.from(input), signer.privateKey);
  else signature = sign('sha256', Buffer.from(input), { key: signer.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${signature.toString('base64url')}`;
}

/** Claims valid for the next hour. */
export function claims(role: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return { sub: `test-${role}`, role, iat: now, exp: now + 3600, ...extra };
}

export interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: any;
}

export interface CallOptions {
  headers?: Record<string, string>;
  /** Sent as JSON unless `raw` is given. */
  json?: unknown;
  raw?: string | Buffer;
  timeoutMs?: number;
}

/**
 * One request over node:http. An event stream that opens (200 text/event-stream) resolves
 * as soon as its headers arrive and is closed, so routes × roles tables can include SSE.
 */
export function call(base: string, method: string, path: string, options: CallOptions = {}): Promise<Reply> {
  const payload = options.raw ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
  const headers: Record<string, string> = {
    ...(options.json !== undefined ? { 'Content-Type': 'application/json' } : {}),
    ...options.headers,
  };
  if (payload !== undefined) headers['Content-Length'] = String(Buffer.byteLength(payload));
  return new Promise((resolve, reject) => {
    const request = http.request(
      `${base}${path}`,
      { method, headers, timeout: options.timeoutMs ?? 15000 },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status === 200 && String(response.headers['content-type']).startsWith('text/event-stream')) {
          resolve({ status, headers: response.headers, text: '', body: null });
          request.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            body = null;
          }
          resolve({ status, headers: response.headers, text, body });
        });
        response.on('error', reject);
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${method} ${path} timed out`)));
    request.on('error', reject);
    if (payload !== undefined) request.write(payload);
    request.end();
  });
}

/** An open event stream with a credential; `events` collects the task events' data. */
export async function openStream(
  base: string,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; events: any[]; close(): void }> {
  return new Promise((resolve, reject) => {
    const events: any[] = [];
    let buffer = '';
    const request = http.get(`${base}${path}`, { headers: { Accept: 'text/event-stream', ...headers } }, (response) => {
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          if (/^event: /m.test(block)) continue;
          const data = block
            .split('\n')
            .filter((line) => line.startsWith('data: '))
            .map((line) => line.slice(6))
            .join('\n');
          if (data) events.push(JSON.parse(data));
        }
      });
      resolve({ status: response.statusCode ?? 0, events, close: () => request.destroy() });
    });
    request.on('error', (error) => {
      if (events.length === 0) reject(error);
    });
  });
}
