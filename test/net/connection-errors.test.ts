/**
 * Nothing one connection brings about can take the process down: a scene string too long for
 * the wire is refused before anything binds, and any error while serving one connection closes
 * that connection (1011) with one log line while the instance keeps ticking.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { encodeClient, MessageType, PROTOCOL_VERSION } from '../../runtime/core/index.js';
import type { ServerInstance } from '../../runtime/node/server-instance.js';
import { runKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { until } from '../helpers/wait.js';
import { cleanupTemp, expectOneLineConfigError, ground, put, scene, tempDir } from '../cli/util.js';
import { inProcess, raw, within } from './util.js';

const instances: ServerInstance[] = [];
afterEach(async () => {
  await Promise.all(instances.splice(0).map((i) => i.stop('test over')));
  await stopAll();
  await cleanupTemp();
});

const EMOJI_NAME = '😀'.repeat(100); // 100 characters as the schema counts them, 400 bytes on the wire

const hello = (name: string) => encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name });

describe('strings the wire cannot carry', () => {
  it('a scene name over 255 UTF-8 bytes is refused by serve (exit 2) and validate (exit 1), naming /name', async () => {
    const dir = await tempDir();
    const file = await put(dir, 'emoji.json', scene(EMOJI_NAME, [ground()]));
    const served = await runKeel(['serve', file, '--port', String(await freePort()), '--host', '127.0.0.1']);
    const line = expectOneLineConfigError(served, '/name', '400 bytes');
    expect(line).toContain('255');
    const validated = await runKeel(['validate', file]);
    expect(validated.code, validated.stderr).toBe(1);
    expect(validated.stderr).toMatch(/emoji\.json \/name: is 400 bytes in UTF-8; at most 255 fit the wire/);
  });
});

describe('an error while serving one connection', () => {
  it('closes that connection with 1011, logs it once, and the instance keeps ticking', async () => {
    // A document the validator would refuse, served anyway: the welcome cannot be encoded.
    const { instance, url, lines } = await inProcess((s) => ({ ...s, doc: { ...s.doc, name: EMOJI_NAME } }));
    instances.push(instance);
    const first = await raw(url);
    first.ws.send(hello('alice'));
    expect(await within(first.closed, 5000, 'the first close')).toEqual({ code: 1011, reason: 'internal server error' });
    const tick = instance.status().tick;
    await until(() => (instance.status().tick > tick + 10 ? true : undefined), 'ticks after the failed join', 5000, 20);
    const second = await raw(url);
    second.ws.send(hello('bob'));
    expect((await within(second.closed, 5000, 'the second close')).code).toBe(1011);
    await until(() => (instance.status().connections === 0 ? true : undefined), 'both connections gone', 5000, 20);
    const errors = lines.filter((r) => r.level === 50);
    expect(errors.map((r) => r.msg)).toEqual([
      expect.stringMatching(/^Internal error serving 127\.0\.0\.1:\d+ \(message\): string of 400 bytes exceeds 255; closing it with 1011$/),
      expect.stringMatching(/^Internal error serving 127\.0\.0\.1:\d+ \(message\): string of 400 bytes exceeds 255; closing it with 1011$/),
    ]);
    // The half-joined players were taken out again.
    expect(instance.simulation!.world.get('player-1')).toBeUndefined();
    expect(instance.state).toBe('running');
  });
});
