import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';
import type { FastifyReply } from 'fastify';

/** What a reconnecting EventSource waits before it tries again. */
const RECONNECT_MS = 3000;
/**
 * Bytes a client may fall behind by. A client that cannot keep up is disconnected rather
 * than buffered without bound; it reconnects with Last-Event-ID and loses nothing.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface SseMessage {
  id?: string;
  event?: string;
  data: unknown;
}

/**
 * A Server-Sent Events response, written on the raw Node response: Fastify is told the reply
 * is taken over (hijack), and the headers its hooks set (security, CORS) are sent with the
 * stream's own — those that keep proxies from buffering it. A heartbeat comment while it is
 * idle, and one JSON `data:` line per message.
 */
export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  private readonly res: ServerResponse;

  constructor(reply: FastifyReply, heartbeatMs: number) {
    reply.hijack();
    this.res = reply.raw;
    const res = this.res;
    res.writeHead(200, {
      ...(reply.getHeaders() as OutgoingHttpHeaders),
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      // nginx buffers proxied responses unless told not to.
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.write(`retry: ${RECONNECT_MS}\n\n`);
    this.heartbeat = setInterval(() => {
      this.write(`: heartbeat ${new Date().toISOString()}\n\n`);
    }, heartbeatMs);
    res.on('close', () => {
      this.dispose();
    });
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  send(message: SseMessage): void {
    const lines = [
      ...(message.id !== undefined ? [`id: ${message.id}`] : []),
      ...(message.event ? [`event: ${message.event}`] : []),
      `data: ${JSON.stringify(message.data)}`,
    ];
    this.write(`${lines.join('\n')}\n\n`);
  }

  /** Ends the stream from the server side (the client has everything it asked for). */
  end(): void {
    if (this.closed) return;
    this.res.end();
    this.dispose();
  }

  private write(chunk: string): void {
    if (this.closed) return;
    this.res.write(chunk);
    if (this.res.writableLength > MAX_BUFFERED_BYTES) {
      this.res.destroy();
      this.dispose();
    }
  }

  private dispose(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const listener of this.closeListeners.splice(0)) listener();
  }
}
