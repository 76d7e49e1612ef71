/**
 * The network seam. The server's tick talks to connections only through these interfaces: the
 * node layer implements them over `ws`, the browser over its WebSocket, tests in memory. The
 * wire protocol (handshake, input, snapshots) plugs in on top of `Connection`.
 */
export interface Connection {
  readonly id: number;
  /** Remote address, for logs. */
  readonly address: string;
  send(data: Uint8Array): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written; a slow reader shows here. */
  readonly bufferedAmount: number;
}

export interface TransportEvents {
  connect(conn: Connection): void;
  /** One frame. `binary` is false for a WebSocket text frame, which the protocol does not use. */
  message(conn: Connection, data: Uint8Array, binary: boolean): void;
  disconnect(conn: Connection, code: number, reason: string): void;
}

export interface Transport {
  /** Binds and starts accepting; resolves with the bound port. */
  listen(handlers: TransportEvents): Promise<{ port: number }>;
  /** Closes every connection with `code`/`reason` and stops listening. */
  close(code?: number, reason?: string): Promise<void>;
  readonly connections: number;
}
