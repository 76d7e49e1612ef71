/**
 * What a client that never reads costs the server's tick. `keel serve` runs the arena plus 600
 * pillars, so that a client that never acks gets full snapshots, which fill its socket's buffers
 * within seconds. A good bot joins; after a control window, a second client says hello and stops
 * reading, until the server drops it as too slow (close code 4005). The mean tick duration comes
 * from the server's keel_tick_duration_seconds histogram (_sum over _count) for the control
 * window and for the sleeper's life. Each round runs on a fresh server.
 *
 * Sends go into each socket's buffer and the tick never waits on them, so the sleeper should cost
 * the tick no more than the copies of the snapshots it is sent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { freePort, httpGet, waitForPort } from '../lib/net.mjs';
import { sleep, spawnTracked } from '../lib/proc.mjs';

const CONTROL_MS = 2000;
const DROP_TIMEOUT_MS = 30_000;

/** @param {string} repo */
function writeScene(repo, dir) {
  const scene = JSON.parse(readFileSync(join(repo, 'scenes/arena.json'), 'utf8'));
  delete scene.$schema;
  for (let i = 0; i < 600; i++) {
    scene.entities.push({
      id: `pillar-${i}`,
      name: `A pillar with a rather long descriptive name, number ${i}`,
      components: { transform: { position: [i % 30, 0, Math.floor(i / 30)] }, mesh: { shape: 'box', size: [0.2, 3, 0.2] }, material: { color: '#888888' } },
    });
  }
  const file = join(dir, 'pillars.json');
  writeFileSync(file, JSON.stringify(scene));
  return { file, entities: scene.entities.length };
}

/** Sum (s) and count of tick durations so far. @param {number} healthPort */
async function tickTotals(healthPort) {
  const text = (await httpGet(healthPort, '/metrics', 5000)).body;
  const value = (re) => Number(re.exec(text)?.[1]);
  return { sum: value(/^keel_tick_duration_seconds_sum\{[^}]*\} ([\d.e+-]+)/m), count: value(/^keel_tick_duration_seconds_count\{[^}]*\} (\d+)/m) };
}

const meanMs = (a, b) => ((b.sum - a.sum) / (b.count - a.count)) * 1000;

/**
 * @param {{ repo: string, rounds: number, progress: (m: string) => void, signal?: AbortSignal }} opts
 * @returns {Promise<{ entities: number, rounds: { round: number, controlMs: number, sleeperMs: number, dropS: number | null, goodSnapshots: number, controlTicks: number, sleeperTicks: number }[], errors: string[] }>}
 */
export async function measureSlowReader({ repo, rounds, progress, signal }) {
  const { Bot } = await import(pathToFileURL(join(repo, 'dist/runtime/node/bot-client.js')).href);
  const { encodeClient, MessageType, PROTOCOL_VERSION } = await import(pathToFileURL(join(repo, 'dist/runtime/core/index.js')).href);
  const { default: WebSocket } = await import('ws');
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-slow-'));
  const { file, entities } = writeScene(repo, dir);
  const out = { entities, rounds: [], errors: [] };
  try {
    for (let r = 0; r < rounds; r++) {
      signal?.throwIfAborted();
      progress(`a client that never reads, round ${r + 1}/${rounds}`);
      const port = await freePort();
      const healthPort = await freePort();
      const h = spawnTracked(process.execPath, ['dist/keel.mjs', 'serve', file, '--port', String(port), '--host', '127.0.0.1', '--health-port', String(healthPort), '--assets', join(repo, 'scenes'), '--log-format', 'json', '--no-watch'], { cwd: repo });
      let good;
      let sleeper;
      try {
        await waitForPort(port, { since: h.startedAt, exited: h.exited, timeoutMs: 15_000 });
        // The health thread boots beside the game port: wait until it answers.
        const readyBy = performance.now() + 15_000;
        while ((await httpGet(healthPort, '/readyz', 2000).catch(() => null))?.status !== 200) {
          if (performance.now() > readyBy) throw new Error(`/readyz on :${healthPort} did not answer 200 within 15 s`);
          await sleep(25);
        }
        good = new Bot({ url: `ws://127.0.0.1:${port}`, name: 'good' });
        await good.start();
        await sleep(500);
        const t0 = await tickTotals(healthPort);
        await sleep(CONTROL_MS);
        const t1 = await tickTotals(healthPort);
        const goodBefore = good.stats.snapshots;
        sleeper = new WebSocket(`ws://127.0.0.1:${port}`);
        await new Promise((resolve, reject) => {
          sleeper.once('open', resolve);
          sleeper.once('error', reject);
        });
        sleeper.on('error', () => {});
        sleeper.send(encodeClient({ type: MessageType.Hello, protocol: PROTOCOL_VERSION, token: '', name: 'sleeper' }));
        // Stop reading once the welcome is in (the server seats it, then sends it snapshots).
        const joinedBy = performance.now() + 5000;
        while (!/"name":"sleeper"[^\n]*joined as|joined as[^\n]*"name":"sleeper"/.test(h.output()) && performance.now() < joinedBy) await sleep(5);
        sleeper._socket.pause();
        const started = performance.now();
        let dropS = null;
        while (performance.now() - started < DROP_TIMEOUT_MS) {
          if (/"code":4005/.test(h.output())) {
            dropS = (performance.now() - started) / 1000;
            break;
          }
          await sleep(20);
        }
        const t2 = await tickTotals(healthPort);
        out.rounds.push({ round: r + 1, controlMs: meanMs(t0, t1), sleeperMs: meanMs(t1, t2), dropS, goodSnapshots: good.stats.snapshots - goodBefore, controlTicks: t1.count - t0.count, sleeperTicks: t2.count - t1.count });
      } catch (err) {
        out.errors.push(`round ${r + 1}: ${String(err.message ?? err).split('\n')[0]}`);
      } finally {
        sleeper?.terminate();
        await good?.close();
        await h.stop(3000);
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
