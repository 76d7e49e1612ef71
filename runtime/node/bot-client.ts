import WebSocket from 'ws';
import { ClientMirror, decodeServer, encodeClient, MessageType, PROTOCOL_VERSION, Writer, type SceneChange, type ServerMessage, type Welcome } from '../core/index.js';

export interface BotOptions {
  url: string;
  name: string;
  token?: string;
  /** Inputs per second. */
  inputRate?: number;
  /** Random source, for reproducible runs. */
  random?: () => number;
}

export interface BotStats {
  joined: boolean;
  refused: string | null;
  closeCode: number | null;
  welcome: Welcome | null;
  /** Welcomes received: more than one means the server reloaded its scene and seated the bot again. */
  welcomes: number;
  snapshots: number;
  /** Snapshots that were deltas against one this bot acknowledged. */
  deltas: number;
  bytesIn: number;
  rttMs: number[];
  /** Inputs sent. */
  inputs: number;
  /** Why the bot gave up on a frame from the server (it then closes with 1002), or null. */
  malformed: string | null;
  /** Scene changes the server announced, in order. */
  sceneChanges: SceneChange[];
}

/**
 * One simulated player over the real protocol: says hello, sends random moves and jumps,
 * acknowledges snapshots (the ack rides on each input) and measures round trips. Used by
 * `keel bots` and the tests.
 */
export class Bot {
  readonly mirror = new ClientMirror();
  readonly stats: BotStats = { joined: false, refused: null, closeCode: null, welcome: null, welcomes: 0, snapshots: 0, deltas: 0, bytesIn: 0, rttMs: [], inputs: 0, malformed: null, sceneChanges: [] };
  private ws: WebSocket | null = null;
  private timers: NodeJS.Timeout[] = [];
  private seq = 0;
  /** Tick of the newest snapshot applied: the ack the next input carries. */
  private acked = 0;
  private pings = new Map<number, number>();
  private nextPing = 1;
  private readonly writer = new Writer(64);
  private done!: Promise<void>;

  constructor(private readonly opts: BotOptions) {}

  /** Connects and says hello; resolves once welcomed, or with the refusal. */
  start(): Promise<void> {
    const random = this.opts.random ?? Math.random;
    const ws = new WebSocket(this.opts.url, { perMessageDeflate: false });
    this.ws = ws;
    let closed!: () => void;
    this.done = new Promise((r) => (closed = r));
    return new Promise((resolve) => {
      ws.binaryType = 'nodebuffer';
      ws.on('open', () => ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: this.opts.token ?? '', name: this.opts.name }, this.writer)));
      ws.on('message', (data: Buffer) => {
        this.stats.bytesIn += data.byteLength;
        try {
          this.receive(decodeServer(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)), random, resolve);
        } catch (err) {
          // A frame this bot cannot decode or apply: its world copy can no longer be trusted.
          // Say why in the stats and leave; never take the process (and every other bot) down.
          if (this.stats.malformed === null) this.stats.malformed = (err as Error).message;
          this.stop();
          ws.close(1002, 'malformed frame from the server');
        }
      });
      ws.on('close', (code, reason) => {
        this.stop();
        this.stats.closeCode = code;
        if (!this.stats.joined) this.stats.refused = reason.toString() || `closed with ${code}`;
        closed();
        resolve();
      });
      ws.on('error', (err) => {
        if (!this.stats.joined) this.stats.refused = err.message;
      });
    });
  }

  private receive(msg: ServerMessage, random: () => number, joined: () => void): void {
    if (msg.type === MessageType.Welcome) {
      this.stats.welcomes++;
      this.stats.welcome = msg;
      if (this.stats.joined) {
        // Seated again after a scene reload: a new world with new net ids; the inputs keep going.
        this.mirror.reset();
        this.acked = 0;
        return;
      }
      this.stats.joined = true;
      this.play(random);
      joined();
    } else if (msg.type === MessageType.Snapshot) {
      this.stats.snapshots++;
      if (msg.baseTick !== 0) this.stats.deltas++;
      if (this.mirror.apply(msg)) this.acked = msg.tick;
    } else if (msg.type === MessageType.SceneChange) {
      this.stats.sceneChanges.push(msg);
    } else if (msg.type === MessageType.Pong) {
      const sent = this.pings.get(msg.id);
      if (sent !== undefined) {
        this.stats.rttMs.push(performance.now() - sent);
        this.pings.delete(msg.id);
      }
    }
  }

  private play(random: () => number): void {
    const ws = this.ws!;
    let move: [number, number] = [0, 0];
    const rate = this.opts.inputRate ?? 20;
    this.timers.push(
      setInterval(() => {
        if (random() < 0.05) move = [random() * 2 - 1, random() * 2 - 1];
        const input = { seq: ++this.seq, moveX: move[0], moveZ: move[1], jump: random() < 0.02, yaw: random() * Math.PI * 2 };
        if (ws.readyState !== WebSocket.OPEN) return;
        ws.send(encodeClient({ type: MessageType.Input, ack: this.acked, inputs: [input] }, this.writer));
        this.stats.inputs++;
      }, 1000 / rate),
      setInterval(() => {
        const id = this.nextPing++;
        this.pings.set(id, performance.now());
        if (ws.readyState === WebSocket.OPEN) ws.send(encodeClient({ type: MessageType.Ping, id }, this.writer));
      }, 500),
    );
  }

  private stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
  }

  /** Disconnects and waits for the close. */
  async close(): Promise<void> {
    this.stop();
    if (this.ws && this.ws.readyState !== WebSocket.CLOSED) {
      this.ws.close(1000, 'bot done');
      await Promise.race([this.done, new Promise((r) => setTimeout(r, 2000))]);
      this.ws.terminate();
    }
  }
}
