import { dirname, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { FSWatcher, watch } from 'chokidar';
import { fileStamp } from './file-stamp.js';
import type { PinoLogger } from './logger.js';

/**
 * Quiet time after a watched file's last event before its scene reloads, ms: an editor's save or
 * a non-atomic write arrives as a few events within a millisecond or two, and a branch switch
 * rewrites many files back to back; each burst reloads the scene once.
 */
export const RELOAD_QUIET_MS = 15;
/** A burst that keeps going (an editor autosaving in a loop) still reloads at least this often, ms. */
export const RELOAD_MAX_WAIT_MS = 150;
/**
 * chokidar drops a second `change` of one path that comes within 50 ms of the one it reported,
 * with no trailing event: a save landing just after another would never reload. So after each
 * reload, once this long has passed since the last event, the watcher compares the files with
 * what they were when the reload began, and reloads again if one was written since, ms.
 */
export const RECHECK_AFTER_MS = 60;

export interface SceneWatcherOptions<T = unknown> {
  log: PinoLogger;
  /**
   * Reads and checks the watched files as they are now, with no effect on anything running.
   * When given, the first event of a burst starts it at once, so the read overlaps the quiet
   * time; the reload takes its result when no other event came meanwhile.
   */
  load?(): Promise<T>;
  /**
   * A burst of changes to the watched files ended: reload. `since` is when its first event
   * arrived (performance.now). `early` is the `load` that event started, when nothing was
   * written after it began (it may still reject: a file read while being written). Calls never
   * overlap: the next waits for this one's promise.
   */
  reload(since: number, early?: Promise<T>): Promise<unknown>;
}

/** A `load` started at the first event of a burst, and the files' stamps taken before it read them. */
interface EarlyLoad<T> {
  before: Promise<Map<string, string>>;
  result: Promise<T>;
}

/**
 * Watches a scene file and its scripts for hot reload. It watches their folders rather than the
 * files themselves: a file that is deleted and comes back (a `git checkout`, an editor's
 * non-atomic save) is seen again, where a watch on the file would end with it.
 */
export class SceneWatcher<T = unknown> {
  private watcher: FSWatcher | null = null;
  /** Absolute paths of the files whose changes reload the scene. */
  private readonly watched = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  /** When the current burst of events began, or null between bursts. */
  private burstStart: number | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Reloads queued or running. */
  private reloading = 0;
  /** The current burst's early load, while it still reads the newest version. */
  private early: EarlyLoad<T> | null = null;
  /** performance.now() of the last add/change event of a watched file. */
  private lastEventAt = 0;
  private recheckTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly opts: SceneWatcherOptions<T>) {}

  /** Starts watching `files`; resolves after the watcher's first scan (bounded), so no later edit is missed. */
  async start(files: readonly string[]): Promise<void> {
    const watcher = watch(this.newDirs(files), {
      ignoreInitial: true,
      depth: 0,
      // Other files in those folders are none of our business (stats are absent on a first call for a path).
      ignored: (path, stats) => stats?.isFile() === true && !this.watched.has(resolve(path)),
      // No awaitWriteFinish: it holds every event back by its stability threshold. Atomic saves
      // (write a temporary file, rename it over) are whole when seen; a non-atomic write read half
      // done fails validation and its next event, within the quiet time, reloads it whole.
    });
    this.watcher = watcher;
    watcher.on('all', (event, path) => this.event(event, path));
    watcher.on('error', (err) => this.opts.log.warn({ err }, 'file watcher error'));
    await new Promise<void>((r) => {
      const t = setTimeout(r, 5000);
      t.unref();
      watcher.once('ready', () => (clearTimeout(t), r()));
    });
  }

  /** Watches these files too (a reloaded version of the scene may use new scripts). */
  add(files: readonly string[]): void {
    const dirs = this.newDirs(files);
    if (this.watcher && dirs.length > 0) this.watcher.add(dirs);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    this.timer = null;
    this.recheckTimer = null;
    await this.watcher?.close();
  }

  private event(event: string, path: string): void {
    const file = resolve(path);
    if (!this.watched.has(file)) return;
    const log = this.opts.log;
    if (event === 'unlink') {
      // Nothing to load: keep the running world, and let the file's return reload it.
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.burstStart = null;
      this.early = null;
      log.warn({ file: path }, `${path} was deleted; keeping the running scene and reloading when it comes back`);
      return;
    }
    if (event !== 'add' && event !== 'change') return;
    const now = performance.now();
    this.lastEventAt = now;
    // A burst's first event, with nothing reloading: start reading now rather than after the quiet time.
    if (this.opts.load && this.timer === null && this.reloading === 0) this.early = this.startEarly();
    else this.early = null; // the newest version came after it began: read again at the end
    this.schedule(now, path, event === 'add' ? `${path} is back; reloading` : `Change detected in ${path}; reloading`);
  }

  /** Adds an event at `now` to the current burst; its reload runs after the quiet time. */
  private schedule(now: number, path: string, message: string): void {
    this.burstStart ??= now;
    const since = this.burstStart;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.burstStart = null;
      const early = this.early;
      this.early = null;
      this.opts.log.info({ file: path }, message);
      this.reloading++;
      this.queue = this.queue.then(() => this.reloadAndRecheck(since, early)).finally(() => this.reloading--);
    }, Math.max(0, Math.min(RELOAD_QUIET_MS, since + RELOAD_MAX_WAIT_MS - now)));
  }

  private startEarly(): EarlyLoad<T> {
    const before = this.fingerprints();
    const result = before.then(() => this.opts.load!());
    result.catch(() => {}); // the reload reads again when it failed; nobody else waits on it
    return { before, result };
  }

  private async reloadAndRecheck(since: number, early: EarlyLoad<T> | null): Promise<void> {
    const before = await this.fingerprints();
    // chokidar may have swallowed the burst's later events: the early read is the reload's only
    // while every file is as it was when that read began.
    if (early && !sameStamps(await early.before, before)) early = null;
    try {
      await this.opts.reload(since, early?.result);
    } catch (err) {
      this.opts.log.error({ err }, `Scene reload failed: ${(err as Error).message}`);
    }
    if (this.closed) return;
    if (this.recheckTimer) clearTimeout(this.recheckTimer);
    const delay = Math.max(0, this.lastEventAt + RECHECK_AFTER_MS - performance.now());
    this.recheckTimer = setTimeout(() => {
      this.recheckTimer = null;
      void this.recheck(before);
    }, delay);
  }

  /** Reloads again if a file changed since `before` and no event said so. */
  private async recheck(before: Map<string, string>): Promise<void> {
    // A burst under way takes its own fingerprints when it reloads.
    if (this.closed || this.timer) return;
    const now = await this.fingerprints([...before.keys()]);
    if (this.closed || this.timer) return;
    for (const [file, print] of before) {
      const print2 = now.get(file);
      // A deleted file is the unlink event's business: it reloads when the file comes back.
      if (print2 === print || print2 === '') continue;
      this.schedule(performance.now(), file, `${file} changed again during the reload; reloading`);
      return;
    }
  }

  /** Each file's stamp (`fileStamp`; all watched files by default); '' for one that is gone or unreadable. */
  private async fingerprints(files: readonly string[] = [...this.watched]): Promise<Map<string, string>> {
    const prints = await Promise.all(files.map((file) => fileStamp(file).catch(() => '')));
    return new Map(files.map((f, i) => [f, prints[i]!]));
  }


  /** Adds `files` to the watched set; returns the folders of those not watched before. */
  private newDirs(files: readonly string[]): string[] {
    const dirs = new Set<string>();
    for (const f of files) {
      const file = resolve(f);
      if (this.watched.has(file)) continue;
      this.watched.add(file);
      dirs.add(dirname(file));
    }
    return [...dirs];
  }
}

function sameStamps(a: Map<string, string>, b: Map<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [file, stamp] of a) if (b.get(file) !== stamp) return false;
  return true;
}
