/**
 * Shared helpers for the health, readiness, shutdown and metrics tests: temp scenes, bounded
 * HTTP polling against an instance's health port, WebSocket clients and a Prometheus text parser.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { sleep, TempDirs, until as pollUntil } from '../helpers/wait.js';
import { join } from 'node:path';
import WebSocket from 'ws';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';

export const HOST = '127.0.0.1';
export const SCENES = join(REPO, 'scenes');
export const ARENA = join(SCENES, 'arena.json');

export { sleep };

// ---------------------------------------------------------------------------------------------
// Temp directories: removed by cleanupTemp() in afterEach.

const temps = new TempDirs('keel-health-');
export const tempDir = () => temps.make();
export const cleanupTemp = () => temps.cleanup();

/** What scenes/scripts/freeze.js logs just before its endless loop. */
export const FREEZE_LINE = 'freezing the loop now';

/** A copy of scenes/freeze-test.json that freezes after `ticks` ticks; run it with `--assets SCENES`. */
export async function freezeScene(ticks: number): Promise<string> {
  const doc = JSON.parse(await readFile(join(SCENES, 'freeze-test.json'), 'utf8')) as Record<string, any>;
  delete doc.$schema;
  const freezer = (doc.entities as any[]).find((e) => e.id === 'freezer');
  freezer.components.script.props.freezeAfterTicks = ticks;
  const file = join(await tempDir(), 'freeze.json');
  await writeFile(file, JSON.stringify(doc, null, 2));
  return file;
}

/**
 * A scene (in a temp dir that is also its asset root) with one server script whose source is
 * `source` (an ES module), written to scripts/custom.js.
 */
export async function sceneWithScript(name: string, source: string): Promise<string> {
  const dir = await tempDir();
  await mkdir(join(dir, 'scripts'));
  await writeFile(join(dir, 'scripts', 'custom.js'), source);
  const doc = {
    format: 'keel-scene',
    version: 1,
    name,
    settings: { tickRate: 60, maxPlayers: 8 },
    entities: [
      {
        id: 'ground',
        components: {
          transform: { position: [0, -0.5, 0] },
          rigidBody: { type: 'static' },
          collider: { shape: 'box', size: [20, 1, 20] },
        },
      },
      { id: 'scripted', components: { transform: { position: [0, 1, 0] }, script: { module: 'scripts/custom.js', props: {}, modes: ['server'] } } },
    ],
  };
  const file = join(dir, `${name}.json`);
  await writeFile(file, JSON.stringify(doc, null, 2));
  return file;
}

// ---------------------------------------------------------------------------------------------
// Command lines.

export interface Ports {
  port: number;
  health: number;
}

export async function ports(): Promise<Ports> {
  const port = await freePort();
  let health = await freePort();
  for (let i = 0; i < 10 && health === port; i++) health = await freePort();
  return { port, health };
}

/** `serve <scene>` on 127.0.0.1 with JSON logs, no file watching, and the given ports. */
export function serveArgs(scene: string, p: Ports, extra: string[] = []): string[] {
  return ['serve', scene, '--host', HOST, '--port', String(p.port), '--health-port', String(p.health), '--log-format', 'json', '--no-watch', ...extra];
}

// ---------------------------------------------------------------------------------------------
// HTTP.

export interface HttpResult {
  status: number;
  text: string;
  json: Record<string, any> | null;
}

/** One GET, bounded in time; null when nothing answers (refused, reset, timed out). */
export async function get(url: string, timeoutMs = 2000): Promise<HttpResult | null> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    let json: Record<string, any> | null = null;
    try {
      json = JSON.parse(text) as Record<string, any>;
    } catch {
      /* not JSON (e.g. /metrics) */
    }
    return { status: res.status, text, json };
  } catch {
    return null;
  }
}

export const healthUrl = (p: Ports, path: string) => `http://${HOST}:${p.health}${path}`;

/** Polls `probe` (every 25 ms, for up to 10 s unless told) until it returns something other than undefined. */
export const until = <T>(probe: () => Promise<T | undefined> | T | undefined, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<T> =>
  pollUntil(probe, what, timeoutMs, intervalMs);

/** Polls `path` until the answer satisfies `pred`; returns that answer. */
export function waitHttp(p: Ports, path: string, pred: (r: HttpResult) => boolean, what: string, timeoutMs = 10_000, intervalMs = 25): Promise<HttpResult> {
  return until(async () => {
    const r = await get(healthUrl(p, path));
    return r && pred(r) ? r : undefined;
  }, what, timeoutMs, intervalMs);
}

/** Waits until /readyz answers 200. */
export const waitReady = (p: Ports, timeoutMs = 15_000) => waitHttp(p, '/readyz', (r) => r.status === 200, `/readyz 200 on :${p.health}`, timeoutMs);

// ---------------------------------------------------------------------------------------------
// WebSocket clients on the game port.

export interface WsClient {
  ws: WebSocket;
  /** Resolves with the close code and reason (bounded by `timeoutMs`). */
  closed(timeoutMs?: number): Promise<{ code: number; reason: string }>;
}

export function connect(port: number, timeoutMs = 5000): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${HOST}:${port}`);
    const closed = new Promise<{ code: number; reason: string }>((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() })));
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`ws connect to :${port} timed out`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(timer);
      resolve({
        ws,
        closed: (ms = 5000) =>
          Promise.race([closed, sleep(ms).then(() => Promise.reject(new Error(`ws on :${port} not closed within ${ms} ms`)))]),
      });
    });
    ws.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** What happens to a fresh connection: refused outright, or opened and then closed by the server. */
export async function tryConnect(port: number, timeoutMs = 5000): Promise<{ refused: true; error: string } | { refused: false; code: number; reason: string }> {
  let client: WsClient;
  try {
    client = await connect(port, timeoutMs);
  } catch (err) {
    return { refused: true, error: (err as Error).message };
  }
  try {
    const c = await client.closed(timeoutMs);
    return { refused: false, ...c };
  } finally {
    client.ws.terminate();
  }
}

// ---------------------------------------------------------------------------------------------
// Prometheus text exposition format (0.0.4).

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  samples: Sample[];
  help: Map<string, string>;
  type: Map<string, string>;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{((?:${LABEL})(?:,${LABEL})*,?)?\\})?[ ]+(\\S+)(?:[ ]+-?\\d+)?$`);
// Go's strconv.ParseFloat, which Prometheus uses: NaN and Inf in any case (prom-client writes "Nan").
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;
const toNumber = (v: string) => (/nan/i.test(v) ? NaN : /inf/i.test(v) ? (v.startsWith('-') ? -Infinity : Infinity) : Number(v));

/** Strict enough to reject what a Prometheus scraper rejects; throws naming the bad line. */
export function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], help: new Map(), type: new Map() };
  text.split('\n').forEach((line, i) => {
    if (line === '') return;
    const where = `line ${i + 1}: ${JSON.stringify(line)}`;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // other comments are allowed
      if (!new RegExp(`^${NAME}$`).test(m[2]!)) throw new Error(`bad metric name in ${where}`);
      if (m[1] === 'HELP') out.help.set(m[2]!, m[3]!);
      else {
        if (!/^(counter|gauge|histogram|summary|untyped)$/.test(m[3]!)) throw new Error(`bad TYPE in ${where}`);
        if (out.type.has(m[2]!)) throw new Error(`second TYPE for ${m[2]} in ${where}`);
        out.type.set(m[2]!, m[3]!);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`not a sample (name{labels} value) at ${where}`);
    const value = m[m.length - 1]!;
    if (!VALUE.test(value)) throw new Error(`non-numeric value at ${where}`);
    const labels: Record<string, string> = {};
    const body = line.slice(m[1]!.length).match(/^\{(.*)\}/)?.[1] ?? '';
    for (const lm of body.matchAll(new RegExp(LABEL, 'g'))) {
      if (lm[1]! in labels) throw new Error(`duplicate label ${lm[1]} at ${where}`);
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
    }
    out.samples.push({ name: m[1]!, labels, value: toNumber(value) });
  });
  return out;
}

/** The metric family a sample belongs to (histogram and summary samples carry suffixes). */
export function family(name: string, types: Map<string, string>): string {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && /^(histogram|summary)$/.test(types.get(base) ?? '')) return base;
  }
  return name;
}

export const samplesOf = (e: Exposition, name: string) => e.samples.filter((s) => s.name === name);

/**
 * Waits for the instance's tick (as /livez reports it) to change, then sends `signal` at once.
 * Run at --tick-rate 1, the loop then sleeps almost a whole second before it can stop, which
 * leaves the draining phase wide open to observe.
 */
export async function signalRightAfterTick(pid: number, p: Ports, signal: NodeJS.Signals): Promise<void> {
  const first = await waitHttp(p, '/livez', (r) => r.status === 200 && typeof r.json?.tick === 'number', '/livez', 10_000);
  const t0 = first.json!.tick as number;
  await waitHttp(p, '/livez', (r) => r.json?.tick !== t0, 'the next tick', 5000, 10);
  process.kill(pid, signal);
}
