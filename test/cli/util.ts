/**
 * Shared helpers for the CLI tests: temp scene directories, a minimal scene builder, the
 * "one line on stderr, exit 2" check, and reading a running instance's tick over /livez.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { sleep, TempDirs, until as pollUntil } from '../helpers/wait.js';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { REPO, type KeelProcess, type RunResult } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';

export const HOST = '127.0.0.1';
export const SCENES = join(REPO, 'scenes');

export { sleep };

// ---------------------------------------------------------------------------------------------
// Temp directories: removed by cleanupTemp() in afterEach.

const temps = new TempDirs('keel-cli-');
export const tempDir = () => temps.make();
export const cleanupTemp = () => temps.cleanup();

/** Writes `content` (a string, or JSON for anything else) to `dir/rel`, creating folders. */
export async function put(dir: string, rel: string, content: unknown): Promise<string> {
  const file = join(dir, rel);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return file;
}

export type Entity = { id: string; parent?: string; components: Record<string, unknown> };

export const ground = (): Entity => ({
  id: 'ground',
  components: { transform: { position: [0, -0.5, 0] }, rigidBody: { type: 'static' }, collider: { shape: 'box', size: [20, 1, 20] } },
});

export const crate = (id: string, y = 2): Entity => ({
  id,
  components: {
    transform: { position: [0, y, 0] },
    rigidBody: { type: 'dynamic', mass: 1 },
    collider: { shape: 'box', size: [1, 1, 1] },
  },
});

export const scripted = (id: string, module: string, props: Record<string, unknown> = {}): Entity => ({
  id,
  components: { transform: { position: [0, 1, 0] }, script: { module, props, modes: ['server'] } },
});

/** A scene document in format keel-scene v1. */
export function scene(name: string, entities: Entity[], settings?: Record<string, unknown>): Record<string, unknown> {
  return { format: 'keel-scene', version: 1, name, ...(settings ? { settings } : {}), entities };
}

/** Number of entities in a scene file on disk. */
export async function entityCount(file: string): Promise<number> {
  return ((JSON.parse(await readFile(file, 'utf8')) as { entities: unknown[] }).entities).length;
}

// ---------------------------------------------------------------------------------------------
// Checks.

/**
 * A start refused for bad configuration: exit code 2, exactly one line on stderr, starting with
 * `keel serve: ` and containing each of `mentions`, and no `Listening` log line on stdout.
 * Returns the line.
 */
export function expectOneLineConfigError(r: RunResult, ...mentions: string[]): string {
  const all = `stdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  expect(r.code, all).toBe(2);
  expect(r.stdout, all).not.toMatch(/Listening on/);
  expect(r.stderr.endsWith('\n'), all).toBe(true);
  const lines = r.stderr.slice(0, -1).split('\n');
  expect(lines, all).toHaveLength(1);
  expect(lines[0]).toMatch(/^keel serve: \S/);
  for (const m of mentions) expect(lines[0], all).toContain(m);
  return lines[0]!;
}

/** Waits for the JSON `Listening on` record. */
export const listening = (proc: KeelProcess, timeoutMs = 20_000) => proc.waitForRecord((r) => String(r.msg).startsWith('Listening on'), timeoutMs);

// ---------------------------------------------------------------------------------------------
// Ports and the health endpoint.

/** Two distinct free ports: the game port and the health port. */
export async function ports(): Promise<{ port: number; health: number }> {
  const port = await freePort();
  let health = await freePort();
  for (let i = 0; i < 10 && health === port; i++) health = await freePort();
  return { port, health };
}

/** The body of GET /livez on `healthPort`, or null when nothing answers within 2 s. */
export async function livez(healthPort: number): Promise<Record<string, any> | null> {
  try {
    const res = await fetch(`http://${HOST}:${healthPort}/livez`, { signal: AbortSignal.timeout(2000) });
    return (await res.json()) as Record<string, any>;
  } catch {
    return null;
  }
}

/** Polls `probe` every 50 ms until it returns something other than undefined; throws after `timeoutMs`. */
export const until = <T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 20_000): Promise<T> =>
  pollUntil(probe, what, timeoutMs, 50);

/** The instance's current tick from /livez, waiting for the health listener to answer. */
export const tickOf = (healthPort: number) =>
  until(async () => {
    const b = await livez(healthPort);
    return typeof b?.tick === 'number' ? (b.tick as number) : undefined;
  }, `a tick from /livez on :${healthPort}`);
