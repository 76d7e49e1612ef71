import type { ClientTransport } from './client-transport.js';
import type { Connection, Transport, TransportEvents } from './transport.js';

type Delivery = () => void;

/**
 * A server `Transport` and its clients in one process, without sockets: for tests that join a
 * client app to a server app through the real protocol. Frames are queued and delivered in
 * order by `flush()` (automatically on the next microtask unless `autoFlush` is false, so a
 * test can step both sides by hand).
 */
export class MemoryTransport implements Transport {
  private handlers: TransportEvents | null = null;
  private readonly queue: Delivery[] = [];
  private readonly open = new Set<MemoryConnection>();
  private nextId = 1;
  private scheduled = false;
  private readonly autoFlush: boolean;

  constructor(opts: { autoFlush?: boolean } = {}) {
    this.autoFlush = opts.autoFlush ?? true;
  }

  async listen(handlers: TransportEvents): Promise<{ port: number }> {
    this.handlers = handlers;
    return { port: 0 };
  }

  async close(code = 1001, reason = 'server shutting down'): Promise<void> {
    for (const c of [...this.open]) c.close(code, reason);
    this.flush();
    this.handlers = null;
  }

  get connections(): number {
    return this.open.size;
  }

  /** A client end: `connect()` opens a connection to this transport. */
  client(address = `memory-${this.nextId}`): ClientTransport {
    return new MemoryClient(this, address);
  }

  /** Delivers every queued frame and event, in order, including those that delivering queues (bounded). */
  flush(): void {
    for (let i = 0; this.queue.length > 0; i++) {
      if (i > 100_000) throw new Error('MemoryTransport.flush: over 100000 deliveries in one flush (two ends answering each other forever?)');
      this.queue.shift()!();
    }
  }

  /** @internal */
  enqueue(d: Delivery): void {
    this.queue.push(d);
    if (!this.autoFlush || this.scheduled) return;
    this.scheduled = true;
    void Promise.resolve().then(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  /** @internal */
  accept(client: MemoryClient, address: string): MemoryConnection | null {
    const handlers = this.handlers;
    if (!handlers) return null;
    const conn = new MemoryConnection(this, client, this.nextId++, address, handlers);
    this.open.add(conn);
    this.enqueue(() => {
      handlers.connect(conn);
      client.opened();
    });
    return conn;
  }

  /** @internal */
  forget(conn: MemoryConnection): void {
    this.open.delete(conn);
  }
}

/** The server's view of one in-memory client. */
class MemoryConnection implements Connection {
  closed = false;
  private queued = 0;

  constructor(
    private readonly transport: MemoryTransport,
    private readonly client: MemoryClient,
    readonly id: number,
    readonly address: string,
    readonly handlers: TransportEvents,
  ) {}

  get bufferedAmount(): number {
    return this.queued;
  }

  send(data: Uint8Array): void {
    if (this.closed) return;
    const copy = data.slice();
    this.queued += copy.byteLength;
    this.transport.enqueue(() => {
      this.queued -= copy.byteLength;
      this.client.deliver(copy);
    });
  }

  close(code: number, reason: string): void {
    this.end(code, reason);
  }

  /** Both sides hear of the close once, after the frames already queued. */
  end(code: number, reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.transport.forget(this);
    this.transport.enqueue(() => {
      this.handlers.disconnect(this, code, reason);
      this.client.ended(code, reason);
    });
  }
}

class MemoryClient implements ClientTransport {
  onOpen: (() => void) | null = null;
  onMessage: ((data: Uint8Array, binary: boolean) => void) | null = null;
  onClose: ((code: number, reason: string) => void) | null = null;
  private conn: MemoryConnection | null = null;
  private up = false;

  constructor(
    private readonly transport: MemoryTransport,
    private readonly address: string,
  ) {}

  get isOpen(): boolean {
    return this.up;
  }

  connect(): void {
    if (this.conn) throw new Error('MemoryTransport client: connect() called twice');
    this.conn = this.transport.accept(this, this.address);
    // Nobody listening: refused, as a socket would be.
    if (!this.conn) this.transport.enqueue(() => this.onClose?.(1006, 'connection refused'));
  }

  send(data: Uint8Array): void {
    const conn = this.conn;
    if (!conn || !this.up || conn.closed) return;
    const copy = data.slice();
    this.transport.enqueue(() => {
      if (!conn.closed) conn.handlers.message(conn, copy, true);
    });
  }

  close(code: number, reason: string): void {
    this.conn?.end(code, reason);
  }

  opened(): void {
    if (this.conn?.closed) return;
    this.up = true;
    this.onOpen?.();
  }

  deliver(data: Uint8Array): void {
    if (this.up) this.onMessage?.(data, true);
  }

  ended(code: number, reason: string): void {
    this.up = false;
    this.onClose?.(code, reason);
  }
}
