import type { Response } from 'express';

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
 * A Server-Sent Events response over express: the headers that keep proxies from buffering
 * it, a heartbeat comment while it is idle, and one JSON `data:` line per message.
 */
export class SseStream {
  private readonly heartbeat: NodeJS.Timeout;
  private closed = false;
  private readonly closeListeners: Array<() => void> = [];

  constructor(
    private readonly res: Response,
    heartbeatMs: number,
  ) {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    // nginx buffers proxied responses unless told not to.
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    this.write(`retry: ${RECONNECT_MS}\n\n`);
    this.heartbeat = setInterval(() => this.write(`: heartbeat ${new Date().toISOString()}\n\n`), heartbeatMs);
    res.on('close', () => this.dispose());
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
