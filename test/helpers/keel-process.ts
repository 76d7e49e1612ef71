import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
/** The production entry point, as `npx keel` runs it (built by `npm run build`, which `npm test` runs first). */
export const KEEL = fileURLToPath(new URL('../../dist/keel.mjs', import.meta.url));

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface KeelProcess {
  child: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** JSON log records printed so far (non-JSON lines skipped). */
  records(): Record<string, unknown>[];
  /** Resolves with the first log record matching `pred`, rejects after `timeoutMs` or if the process exits first. */
  waitForRecord(pred: (r: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves when stdout+stderr contain `text`. */
  waitForText(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit; rejects after `timeoutMs`. */
  exited(timeoutMs?: number): Promise<RunResult>;
  /** Sends `signal` (default SIGTERM) to the PID, then SIGKILL if still alive after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<RunResult>;
}

const running = new Set<KeelProcess>();

/** Starts `node dist/keel.mjs ...args`. Every process started here is tracked; call `stopAll` in afterEach. */
export function startKeel(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): KeelProcess {
  // Health listeners default to the game port + 1000, which parallel tests on random ports could
  // collide on; tests that check health pass SERVER_HEALTH_PORT or --health-port themselves.
  const env: NodeJS.ProcessEnv = { SERVER_HEALTH_PORT: '0', ...process.env, ...opts.env };
  delete env.DISPLAY; // the server must not need one
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  const child = spawn(process.execPath, [KEEL, ...args], { cwd: opts.cwd ?? REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  child.stdout!.setEncoding('utf8').on('data', (d: string) => ((out += d), poke()));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => ((err += d), poke()));
  const exit = new Promise<RunResult>((resolve) => {
    child.on('exit', (code, signal) => {
      // Let the pipes drain before reporting.
      setImmediate(() => {
        resolve({ code, signal, stdout: out, stderr: err });
        poke();
      });
    });
  });
  let done = false;
  void exit.then(() => (done = true));

  const records = () =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as Record<string, unknown>];
        } catch {
          return [];
        }
      });

  const waitFor = <T>(check: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => finish(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs);
      const finish = (e: Error | null, v?: T) => {
        clearTimeout(timer);
        waiters.delete(test);
        if (e) reject(e);
        else resolve(v as T);
      };
      const test = () => {
        const v = check();
        if (v !== undefined) return finish(null, v);
        if (done) finish(new Error(`process exited while waiting for ${what}\nstdout:\n${out}\nstderr:\n${err}`));
      };
      waiters.add(test);
      test();
    });

  const proc: KeelProcess = {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    records,
    waitForRecord: (pred, timeoutMs = 10_000) => waitFor(() => records().find(pred), 'a matching log record', timeoutMs),
    waitForText: (text, timeoutMs = 10_000) =>
      waitFor(() => ((typeof text === 'string' ? (out + err).includes(text) : text.test(out + err)) ? true : undefined), `output ${String(text)}`, timeoutMs).then(() => {}),
    exited: (timeoutMs = 10_000) =>
      Promise.race([
        exit,
        new Promise<RunResult>((_, reject) => setTimeout(() => reject(new Error(`process ${child.pid} did not exit within ${timeoutMs} ms\nstdout:\n${out}\nstderr:\n${err}`)), timeoutMs).unref()),
      ]),
    async stop(signal = 'SIGTERM', graceMs = 5_000) {
      if (!done) {
        try {
          process.kill(child.pid!, signal);
        } catch {
          /* already gone */
        }
        const t = setTimeout(() => !done && process.kill(child.pid!, 'SIGKILL'), graceMs);
        const r = await exit;
        clearTimeout(t);
        running.delete(proc);
        return r;
      }
      running.delete(proc);
      return exit;
    },
  };
  running.add(proc);
  void exit.then(() => running.delete(proc));
  return proc;
}

/** Runs keel to completion (bounded by `timeoutMs`) and returns its exit and output. */
export async function runKeel(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const p = startKeel(args, opts);
  try {
    return await p.exited(opts.timeoutMs ?? 15_000);
  } finally {
    await p.stop('SIGKILL');
  }
}

/** Stops every process started by `startKeel` that is still running, by PID. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop('SIGKILL', 0)));
}
