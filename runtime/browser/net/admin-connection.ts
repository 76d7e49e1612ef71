import {
  ADMIN_SUBPROTOCOL,
  adminTokenSubprotocol,
  type AdminClientMessage,
  type AdminPhysicsView,
  type AdminServerMessage,
} from '../../core/index.js';
import type { SceneEdit } from '../../core/edit/scene-edit.js';

export interface AdminConnectionOptions {
  /** ws://host:adminPort of a running `keel serve --admin-port`. */
  url: string;
  token: string;
  /** Every message from the server (hello, world frames, loop state, script errors…). */
  onMessage(msg: AdminServerMessage): void;
  onClose?(code: number, reason: string): void;
  /** The WebSocket constructor (tests pass their own). */
  socket?: (url: string, protocols: string[]) => WebSocket;
}

/**
 * The editor's side of the admin channel (runtime/core/protocol/admin.ts): attaches to a running
 * server with the token in a subprotocol (browsers cannot set an Authorization header on a
 * WebSocket, and a subprotocol stays out of URLs and history), then streams the live world and
 * sends pause, step, resume, push edit and physics requests. No reconnect: the remote view
 * shows the close reason and the user attaches again.
 */
export class AdminConnection {
  private ws: WebSocket | null = null;
  private nextEdit = 1;
  private readonly edits = new Map<number, (r: { ok: boolean; error?: string }) => void>();
  private readonly physicsWaiters: ((v: AdminPhysicsView) => void)[] = [];

  constructor(private readonly opts: AdminConnectionOptions) {}

  get open(): boolean {
    return this.ws !== null && this.ws.readyState === WebSocket.OPEN;
  }

  /** Opens the socket; resolves with the server's hello, rejects when refused or closed first. */
  connect(): Promise<Extract<AdminServerMessage, { type: 'hello' }>> {
    const make = this.opts.socket ?? ((url: string, protocols: string[]) => new WebSocket(url, protocols));
    const ws = make(this.opts.url, [ADMIN_SUBPROTOCOL, adminTokenSubprotocol(this.opts.token)]);
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let hello = false;
      ws.onmessage = (ev) => {
        if (typeof ev.data !== 'string') return;
        let msg: AdminServerMessage;
        try {
          msg = JSON.parse(ev.data) as AdminServerMessage;
        } catch {
          return;
        }
        if (msg.type === 'hello' && !hello) {
          hello = true;
          resolve(msg);
        }
        this.settle(msg);
        this.opts.onMessage(msg);
      };
      ws.onclose = (ev) => {
        this.ws = null;
        if (!hello) reject(new Error(`admin channel refused or closed (${ev.code}${ev.reason ? `: ${ev.reason}` : ''})`));
        for (const done of this.edits.values()) done({ ok: false, error: 'connection closed' });
        this.edits.clear();
        this.opts.onClose?.(ev.code, ev.reason);
      };
    });
  }

  /** Starts the world stream: `hz` frames a second (1-60, default 10), with components and a physics view when asked. */
  subscribe(opts: { hz?: number; components?: boolean; physics?: boolean } = {}): void {
    this.send({ type: 'subscribe', ...opts });
  }

  unsubscribe(): void {
    this.send({ type: 'unsubscribe' });
  }

  pause(): void {
    this.send({ type: 'pause' });
  }

  resume(): void {
    this.send({ type: 'resume' });
  }

  /** Runs exactly `ticks` ticks on a paused server, which stays paused. */
  step(ticks = 1): void {
    this.send({ type: 'step', ticks });
  }

  /** Applies `edit` to the live world only (saving stays the file's job); resolves with the server's verdict. */
  pushEdit(edit: SceneEdit): Promise<{ ok: boolean; error?: string }> {
    const id = this.nextEdit++;
    return new Promise((resolve) => {
      this.edits.set(id, resolve);
      if (!this.send({ type: 'edit', id, edit })) {
        this.edits.delete(id);
        resolve({ ok: false, error: 'not connected' });
      }
    });
  }

  /** One physics debug frame: bodies with sleep state, and contact points. */
  physics(): Promise<AdminPhysicsView> {
    return new Promise((resolve) => {
      this.physicsWaiters.push(resolve);
      this.send({ type: 'physics' });
    });
  }

  close(): void {
    this.ws?.close(1000, 'detached');
    this.ws = null;
  }

  private settle(msg: AdminServerMessage): void {
    if (msg.type === 'editResult' && msg.id !== null) {
      const done = this.edits.get(msg.id);
      this.edits.delete(msg.id);
      done?.({ ok: msg.ok, ...(msg.error !== undefined ? { error: msg.error } : {}) });
    } else if (msg.type === 'physics') {
      const { type: _t, ...view } = msg;
      this.physicsWaiters.shift()?.(view);
    }
  }

  private send(msg: AdminClientMessage): boolean {
    if (!this.open) return false;
    this.ws!.send(JSON.stringify(msg));
    return true;
  }
}
