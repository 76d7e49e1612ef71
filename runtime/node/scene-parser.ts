import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { SceneError, type SceneDocument, type SceneProblem } from '../core/index.js';
import { readScene, type ReadScene } from './scene-loader.js';

/** A parse asked of the worker. */
export interface ParseRequest {
  id: number;
  file: string;
  cwd: string;
  /** The hash of a version the caller holds: the worker may answer with a delta against it. */
  base?: string;
  /** Read and keep the version, to send deltas against later; answer with its hash only. */
  prime?: boolean;
}

/**
 * A document as a delta against a version the caller holds (`base`, its hash): the new document
 * is `top` (JSON text, its entities left out) with, for each entity, `order[i] >= 0`: the
 * caller's entity at that index, unchanged; else entry `-1 - order[i]` of `changed` (JSON text of
 * an array).
 */
export interface ParseDelta {
  base: string;
  top: string;
  order: Int32Array;
  changed: string;
}

/** The worker's answer: the scene read (its validated document as JSON text, a delta, or nothing for a prime), or why not. */
export type ParseReply =
  | ({ id: number; ok: true; shown: string; hash: string; workMs: number } & ({ text: string } | { delta: ParseDelta } | { primed: true }))
  | { id: number; ok: false; problems: SceneProblem[] | null; message: string };

/** A version of the scene the caller holds, which the worker may send a delta against. */
export interface ParseBase {
  hash: string;
  doc: SceneDocument;
}

/** Memory of the parse worker: a scene document and the text it came from, several times over. */
const PARSE_WORKER_LIMITS = { maxOldGenerationSizeMb: 256 } as const;

/**
 * Where the worker's code is: beside the bundle (dist/scene-parse-worker.mjs), beside this
 * module in the unbundled build, or, when this module runs from TypeScript source (tests), in dist/.
 * Each URL is written out whole (as health-monitor.ts does), so that the files a bundle starts
 * can be read off it (test/deploy/image-files.test.ts).
 */
function workerUrl(): URL {
  const here = import.meta.url;
  if (/\/(keel|fleet-worker)\.mjs$/.test(here)) return new URL('./scene-parse-worker.mjs', here);
  if (here.endsWith('.ts')) return new URL('../../dist/runtime/node/scene-parse-worker.js', here);
  return new URL('./scene-parse-worker.js', here);
}

export interface SceneParserOptions {
  /** The worker goes after this long without a parse, ms (default 30 s), unless kept warm; the next parse starts it again. */
  idleMs?: number;
  /** The worker's code (tests); default: found beside this module or the bundle. */
  url?: URL;
}

/**
 * Reads, parses and validates scene files on a worker thread, so that a large scene's reload
 * does not hold the game loop: the loop's thread only takes the finished document in, as a delta
 * against a version it holds (0.05 ms for a one-entity edit of 2000 entities) or as validated
 * JSON text to parse (3.4 ms for the same scene). The worker starts on the first parse (or
 * `prime`) and stops when idle, unless kept warm (`keepWarm`). When no worker can run (it failed
 * to start, or died), the parse is done on this thread instead: slower for the loop, never wrong.
 */
export class SceneParser {
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: ReadScene) => void; reject: (e: Error) => void; base: ParseBase | undefined }>();
  /** Primes under way: each resolves with the hash read, or null. */
  private readonly primes = new Map<number, (hash: string | null) => void>();
  private idleTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private warm = false;
  /** Parses done on this thread because the worker could not (counted for tests and logs). */
  fallbacks = 0;
  /** Whether the last parse that succeeded ran on the worker. */
  lastOnWorker = false;
  /**
   * What the last parse on the worker would have held this thread for, ms: the worker's parse,
   * validation and hash, and the take-in here (reading the file and the round trip not counted).
   */
  lastWorkMs = 0;

  constructor(private readonly opts: SceneParserOptions = {}) {}

  /** Whether a worker thread is running now. */
  get running(): boolean {
    return this.worker !== null;
  }

  /**
   * Reads and validates `file`; rejects with a SceneError naming the file and pointers when it is
   * bad. With `base` (a version the caller holds, as read from its file), entities equal to
   * `base`'s come back as those same objects: the caller must not have changed them.
   */
  async read(file: string, cwd: string, base?: ParseBase): Promise<ReadScene> {
    this.lastOnWorker = false;
    if (this.closed) return readScene(file, cwd);
    const worker = this.busy();
    if (!worker) {
      this.fallbacks++;
      return readScene(file, cwd);
    }
    const id = this.nextId++;
    try {
      const scene = await new Promise<ReadScene>((resolve, reject) => {
        this.pending.set(id, { resolve, reject, base });
        worker.postMessage({ id, file, cwd, ...(base ? { base: base.hash } : {}) } satisfies ParseRequest);
      });
      this.lastOnWorker = true;
      return scene;
    } catch (err) {
      if (err instanceof SceneError) throw err;
      // The worker went away under this parse: do it here.
      this.fallbacks++;
      return readScene(file, cwd);
    } finally {
      this.idle();
    }
  }

  /**
   * Keeps the worker running between parses while on (a scene whose every reload goes to it need
   * not pay for a new thread and cold code each time); off, it stops once idle again.
   */
  keepWarm(on: boolean): void {
    this.warm = on;
    if (on) this.cancelIdle();
    else this.idle();
  }

  /**
   * Starts the worker if it is not running and has it read `file` ahead of the next parse, on
   * its own thread: its code is then compiled, and it holds that version to send a delta against
   * when the next parse names it as the base. Nothing comes back to this thread but the hash, or
   * null when the file could not be read (a later parse will say why).
   */
  async prime(file: string, cwd: string): Promise<string | null> {
    const worker = this.closed ? null : this.busy();
    if (!worker) return null;
    const id = this.nextId++;
    try {
      return await new Promise<string | null>((resolve) => {
        this.primes.set(id, resolve);
        worker.postMessage({ id, file, cwd, prime: true } satisfies ParseRequest);
      });
    } finally {
      this.idle();
    }
  }

  /** The worker, started if need be, with its idle stop called off; null when none can start. */
  private busy(): Worker | null {
    let worker: Worker;
    try {
      worker = this.worker ?? this.start();
    } catch {
      return null;
    }
    this.cancelIdle();
    return worker;
  }

  private cancelIdle(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }

  /** Arms the idle stop once nothing is asked of the worker. */
  private idle(): void {
    if (this.pending.size === 0 && this.primes.size === 0 && this.worker && !this.closed) this.armIdle();
  }

  /** Stops the worker; later parses run on this thread. */
  async close(): Promise<void> {
    this.closed = true;
    this.cancelIdle();
    const w = this.worker;
    this.worker = null;
    this.failAll(new Error('scene parser closed'));
    if (w) await w.terminate();
  }

  private start(): Worker {
    const w = new Worker(this.opts.url ?? workerUrl(), { name: 'scene-parse', resourceLimits: PARSE_WORKER_LIMITS });
    // The loop's process must not be kept alive by an idle parser.
    w.unref();
    w.on('message', (m: ParseReply) => {
      const primed = this.primes.get(m.id);
      if (primed) {
        this.primes.delete(m.id);
        primed(m.ok ? m.hash : null);
        return;
      }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      // The one part of a parse this thread does: taking the validated document in.
      if (m.ok) {
        const t0 = performance.now();
        let doc: SceneDocument;
        try {
          if ('primed' in m) throw new Error('scene parse worker answered a parse as a prime');
          doc = 'text' in m ? (JSON.parse(m.text) as SceneDocument) : fromDelta(m.delta, p.base);
        } catch (err) {
          p.reject(err as Error); // not a SceneError: read here instead
          return;
        }
        const takeInMs = performance.now() - t0;
        this.lastWorkMs = m.workMs + takeInMs;
        p.resolve({ shown: m.shown, hash: m.hash, doc, parseMs: takeInMs });
      } else p.reject(m.problems ? new SceneError(m.problems) : new Error(m.message));
    });
    const gone = (err: Error) => {
      if (this.worker !== w) return;
      this.worker = null;
      this.failAll(err);
    };
    w.on('error', gone);
    w.on('exit', (code) => gone(new Error(`scene parse worker exited with code ${code}`)));
    this.worker = w;
    return w;
  }

  private armIdle(): void {
    if (this.warm) return;
    this.cancelIdle();
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      const w = this.worker;
      if (!w || this.pending.size > 0 || this.primes.size > 0 || this.warm) return;
      this.worker = null;
      void w.terminate();
    }, this.opts.idleMs ?? 30_000);
    this.idleTimer.unref();
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    const primes = [...this.primes.values()];
    this.pending.clear();
    this.primes.clear();
    for (const p of all) p.reject(err);
    for (const p of primes) p(null);
  }
}

/** The document a delta describes, built over `base`'s entity objects. */
function fromDelta(d: ParseDelta, base: ParseBase | undefined): SceneDocument {
  if (!base || base.hash !== d.base) throw new Error(`scene parse worker sent a delta against ${d.base.slice(0, 12)}, which this parse did not ask for`);
  const top = JSON.parse(d.top) as SceneDocument;
  const changed = JSON.parse(d.changed) as SceneDocument['entities'];
  const from = base.doc.entities;
  const entities = new Array<SceneDocument['entities'][number]>(d.order.length);
  for (let i = 0; i < d.order.length; i++) {
    const k = d.order[i]!;
    const e = k >= 0 ? from[k] : changed[-1 - k];
    if (!e) throw new Error(`scene parse worker sent a delta naming entity ${k}, which does not exist`);
    entities[i] = e;
  }
  top.entities = entities;
  return top;
}
