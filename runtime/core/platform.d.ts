/**
 * The few web-platform globals the core relies on. Every runtime keel targets (browsers, Node
 * 20+) has them; declaring them here, rather than pulling in the DOM or Node type libraries,
 * keeps everything else those libraries offer out of the core's reach.
 */
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: Uint8Array): string;
}
/** Base64 of a binary string, and back (the admin protocol's token subprotocol). */
declare function btoa(data: string): string;
declare function atob(data: string): string;
