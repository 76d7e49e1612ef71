import { ProtocolError, Writer } from '../protocol/codec.js';
import { decodeServer, encodeClient, MessageType, PROTOCOL_VERSION, type PlayerInput, type SceneChange, type Snapshot, type Welcome } from '../protocol/messages.js';
import { ClientMirror } from './client-mirror.js';
import type { ClientTransport } from './client-transport.js';

/** The close code a client uses when the server sends something it cannot decode. */
export const CLIENT_MALFORMED_CLOSE = 4003;

export interface GameClientOptions {
  name: string;
  token?: string;
}

/**
 * The protocol's client end over any `ClientTransport`, driven by ticks: hello on open, the
 * welcome, snapshots queued as they arrive and applied to a `ClientMirror` by `receive()` (the
 * `snapshots-in` system), inputs and acks out. A frame it cannot decode closes the connection
 * with CLIENT_MALFORMED_CLOSE and a reason; nothing the server sends throws out of it.
 * (The browser's GameConnection adds reconnection and pings on top of the same seam.)
 */
export class GameClient {
  state: 'idle' | 'connecting' | 'connected' | 'closed' = 'idle';
  welcome: Welcome | null = null;
  /** Welcomes received: a second one is the server seating this client again after a full reload. */
  welcomes = 0;
  /** Why the connection closed, or null. */
  reason: string | null = null;
  closeCode: number | null = null;
  readonly mirror = new ClientMirror();
  /** Snapshots applied so far. */
  snapshots = 0;
  readonly sceneChanges: SceneChange[] = [];
  private readonly inbox: Snapshot[] = [];
  private readonly writer = new Writer(256);
  /** Tick of the newest snapshot applied: the ack the next input carries. */
  private acked = 0;
  private unacked = false;

  constructor(
    readonly transport: ClientTransport,
    private readonly opts: GameClientOptions,
  ) {
    transport.onOpen = () => transport.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: opts.token ?? '', name: opts.name }, this.writer));
    transport.onMessage = (data, binary) => this.frame(data, binary);
    transport.onClose = (code, reason) => {
      this.state = 'closed';
      this.closeCode ??= code;
      this.reason ??= reason || `closed with code ${code}`;
    };
  }

  connect(): void {
    if (this.state !== 'idle') return;
    this.state = 'connecting';
    this.transport.connect();
  }

  /** Applies the snapshots received since the last call, oldest first; returns how many applied. */
  receive(): number {
    let n = 0;
    for (const s of this.inbox.splice(0)) {
      let applied: boolean;
      try {
        applied = this.mirror.apply(s);
      } catch (err) {
        // A delta that does not fit its baseline: this copy of the world can no longer be trusted.
        this.fail(`malformed snapshot from the server: ${(err as Error).message}`);
        return n;
      }
      if (!applied) continue; // out of order, or against a baseline already dropped
      this.acked = s.tick;
      this.unacked = true;
      this.snapshots++;
      n++;
    }
    return n;
  }

  /** Sends the tick's inputs (carrying the ack), or the ack alone when there are none and one is due. */
  send(inputs: readonly PlayerInput[]): void {
    if (this.state !== 'connected' || !this.transport.isOpen) return;
    if (inputs.length > 0) this.transport.send(encodeClient({ type: MessageType.Input, ack: this.acked, inputs: [...inputs] }, this.writer));
    else if (this.unacked) this.transport.send(encodeClient({ type: MessageType.Ack, tick: this.acked }, this.writer));
    else return;
    this.unacked = false;
  }

  close(reason = 'client closed'): void {
    if (this.state === 'closed') return;
    this.reason ??= reason;
    this.transport.close(1000, reason);
  }

  private frame(data: Uint8Array, binary: boolean): void {
    if (this.state === 'closed') return;
    if (!binary) return this.fail('the server sent a text frame; keel speaks binary frames only');
    try {
      const msg = decodeServer(data);
      switch (msg.type) {
        case MessageType.Welcome:
          if (msg.protocol !== PROTOCOL_VERSION) return this.fail(`the server speaks protocol ${msg.protocol}, this client ${PROTOCOL_VERSION}`);
          // A new welcome (a full reload) starts the world over.
          this.welcome = msg;
          this.welcomes++;
          this.mirror.reset();
          this.inbox.length = 0;
          this.acked = 0;
          this.state = 'connected';
          return;
        case MessageType.Snapshot:
          if (this.state !== 'connected') return this.fail('a snapshot arrived before the welcome');
          this.inbox.push(msg);
          return;
        case MessageType.SceneChange:
          this.sceneChanges.push(msg);
          return;
        case MessageType.Pong:
          return;
      }
    } catch (err) {
      if (err instanceof ProtocolError) return this.fail(`malformed message from the server: ${err.message}`);
      return this.fail(`cannot handle a message from the server: ${(err as Error).message}`);
    }
  }

  private fail(reason: string): void {
    this.reason = reason;
    this.closeCode = CLIENT_MALFORMED_CLOSE;
    this.transport.close(CLIENT_MALFORMED_CLOSE, 'malformed server message');
  }
}
