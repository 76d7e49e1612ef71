/**
 * The client's side of the network seam, apart from the server-shaped `Transport` (which
 * listens and holds many connections): one connection to one server. The browser implements it
 * over its WebSocket (runtime/browser/net/websocket-transport.ts), tests in memory
 * (`MemoryTransport.client()`); the protocol (hello, welcome, snapshots, inputs) sits on top.
 */
export interface ClientTransport {
  /** Opens the connection. `onOpen` follows once it is up; `onClose` ends it, once. */
  connect(): void;
  /** Sends one binary frame; dropped when the connection is not open. */
  send(data: Uint8Array): void;
  /** Closes it; `onClose` follows with this code and reason. */
  close(code: number, reason: string): void;
  readonly isOpen: boolean;
  onOpen: (() => void) | null;
  /** One frame from the server. `binary` is false for a text frame, which the protocol does not use. */
  onMessage: ((data: Uint8Array, binary: boolean) => void) | null;
  onClose: ((code: number, reason: string) => void) | null;
}
