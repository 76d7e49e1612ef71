import type { ClientTransport } from '../../core/index.js';

/**
 * The browser's ClientTransport: one WebSocket with binary frames as ArrayBuffers. `socket`
 * replaces the WebSocket constructor (benchmarks add latency with it). A socket that cannot be
 * made (a malformed URL) is reported as a close with code 1006 and the error's message.
 */
export class WebSocketTransport implements ClientTransport {
  onOpen: (() => void) | null = null;
  onMessage: ((data: Uint8Array, binary: boolean) => void) | null = null;
  onClose: ((code: number, reason: string) => void) | null = null;
  private ws: WebSocket | null = null;

  constructor(
    readonly url: string,
    private readonly socket: (url: string) => WebSocket = (u) => new WebSocket(u),
  ) {}

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  connect(): void {
    if (this.ws) throw new Error('WebSocketTransport: connect() called twice; make a new transport to reconnect');
    const ws = this.socket(this.url);
    this.ws = ws;
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => this.onOpen?.();
    ws.onmessage = (ev: MessageEvent) => {
      const data: unknown = ev.data;
      if (data instanceof ArrayBuffer) this.onMessage?.(new Uint8Array(data), true);
      else this.onMessage?.(new Uint8Array(0), false);
    };
    ws.onclose = (ev: CloseEvent) => {
      if (this.ws !== ws) return;
      this.onClose?.(ev.code, ev.reason);
    };
    // An error is always followed by a close, which decides what happens next.
    ws.onerror = () => {};
  }

  send(data: Uint8Array): void {
    if (this.isOpen) this.ws!.send(data);
  }

  close(code: number, reason: string): void {
    const ws = this.ws;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(code, reason);
  }
}
