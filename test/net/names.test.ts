/**
 * Client-supplied names are cleaned at the edge: a name carrying a newline, a forged log line,
 * terminal escape sequences and bidirectional overrides reaches the operator's pretty log as one
 * harmless line, capped at 32 characters.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeClient, MessageType, PROTOCOL_VERSION } from '../../runtime/core/index.js';
import { cleanName } from '../../runtime/core/net/game-session.js';
import { startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { HOST, raw, within } from './util.js';

afterEach(async () => {
  await stopAll();
});

const HOSTILE = 'evil\n[Net] [INFO] Player root joined\x1b[2J\x1b]0;owned\x07\u202e' + 'x'.repeat(100);

describe('client-supplied names', () => {
  it('cannot forge log lines or drive the terminal', async () => {
    const port = await freePort();
    const proc = startKeel(['serve', 'scenes/arena.json', '--port', String(port), '--host', HOST, '--no-watch', '--id', 'Net', '--log-format', 'pretty']);
    await proc.waitForText(/Listening on/, 20_000);
    const s = await raw(`ws://${HOST}:${port}`);
    s.ws.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: HOSTILE }));
    await proc.waitForText(/joined as player-1/, 10_000);
    s.ws.close();
    await within(s.closed, 5000, 'the close');
    await proc.waitForText(/left \(0\/50\)/, 10_000);
    const out = proc.stdout();
    expect(out).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/u); // no control character but the newlines ending lines
    const lines = out.split('\n');
    expect(lines.filter((l) => l.startsWith('[Net] [INFO] Player root joined'))).toEqual([]);
    expect(lines).toContainEqual(expect.stringMatching(/^\[Net\] \[INFO\] Player evil \[Net\] \[INFO\] Player root jo joined as player-1 from 127\.0\.0\.1:\d+ \(1\/50\)$/));
    expect(lines).toContainEqual('[Net] [INFO] Player evil [Net] [INFO] Player root jo left (0/50)');
  });

  it('cleanName keeps ordinary names and whole characters', () => {
    expect(cleanName('  Zoë   the\tGreat ')).toBe('Zoë the Great');
    expect(cleanName('😀'.repeat(40))).toBe('😀'.repeat(32));
    expect(cleanName('\x1b[31m')).toBe('[31m');
  });
});
