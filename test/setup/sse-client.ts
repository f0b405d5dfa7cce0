import http from 'node:http';
import { waitFor } from './test-app';

export interface SseMessage {
  id?: string;
  event: string;
  data: any;
}

/**
 * A minimal Server-Sent Events client over node:http for tests: it keeps every message and
 * comment it receives, so a test can wait for one and then look at all of them.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  ended = false;
  private request?: http.ClientRequest;
  private buffer = '';

  private constructor(private readonly url: string) {}

  /** Opens the stream and resolves once the response headers are in. */
  static async open(url: string, lastEventId?: string): Promise<SseClient> {
    const client = new SseClient(url);
    await client.connect(lastEventId);
    return client;
  }

  /** Messages that carry task events (the default event type). */
  get events(): any[] {
    return this.messages.filter((m) => m.event === 'message').map((m) => m.data);
  }

  get lastId(): string | undefined {
    return [...this.messages].reverse().find((m) => m.id !== undefined)?.id;
  }

  async waitFor(predicate: (client: SseClient) => boolean, what: string, timeoutMs = 15000): Promise<SseClient> {
    // The probe is a summary, so a timeout reports what had arrived by then.
    await waitFor(
      async () => ({ status: this.status, ended: this.ended, messages: this.messages }),
      () => predicate(this),
      { timeoutMs, intervalMs: 20, what },
    );
    return this;
  }

  close(): void {
    this.request?.destroy();
  }

  private connect(lastEventId?: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.request = http.get(
        this.url,
        { headers: { Accept: 'text/event-stream', ...(lastEventId ? { 'Last-Event-ID': lastEventId } : {}) } },
        (response) => {
          this.status = response.statusCode ?? 0;
          this.headers = response.headers;
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => {
            this.parse(chunk);
          });
          response.on('end', () => (this.ended = true));
          response.on('error', () => (this.ended = true));
          resolve();
        },
      );
      this.request.on('error', (error) => {
        if (this.status) this.ended = true;
        else reject(error);
      });
    });
  }

  private parse(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const message: { id?: string; event: string; data: string[] } = { event: 'message', data: [] };
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
        else if (line.startsWith('id: ')) message.id = line.slice(4);
        else if (line.startsWith('event: ')) message.event = line.slice(7);
        else if (line.startsWith('data: ')) message.data.push(line.slice(6));
      }
      if (message.data.length > 0)
        this.messages.push({ id: message.id, event: message.event, data: JSON.parse(message.data.join('\n')) });
    }
  }
}
