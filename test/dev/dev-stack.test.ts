/**
 * `npm start` (scripts/dev.mjs) as a real process on free ports over a temp scenes folder: it
 * starts `keel serve` with the admin channel on 127.0.0.1 under a fresh random token, prints the
 * admin address among its startup lines, hands the editor page (only) that address and token,
 * keeps the token off the server's command line, and the token it hands out opens the admin
 * channel from the editor's origin while a wrong one is refused. A second start gets another
 * token. Ctrl-C (SIGINT) stops both servers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { ADMIN_SUBPROTOCOL, adminTokenSubprotocol } from '../../runtime/core/index.js';
import { REPO } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';
import { TempDirs } from '../helpers/wait.js';
import { until } from '../cli/util.js';

const temps = new TempDirs('keel-dev-stack-');
const started = new Set<ChildProcess>();

afterEach(async () => {
  for (const c of started) if (c.exitCode === null && c.signalCode === null) process.kill(c.pid!, 'SIGKILL');
  started.clear();
  await temps.cleanup();
});

interface Stack {
  child: ChildProcess;
  out(): string;
  web: string;
  admin: string;
  exited: Promise<number | null>;
}

async function startStack(): Promise<Stack> {
  const dir = await temps.make();
  const scenes = join(dir, 'scenes');
  await cp(join(REPO, 'scenes'), scenes, { recursive: true });
  const [game, web, admin] = [await freePort(), await freePort(), await freePort()];
  const child = spawn(process.execPath, [join(REPO, 'scripts/dev.mjs'), join(scenes, 'arena.json')], {
    cwd: REPO,
    env: { ...process.env, SERVER_PORT: String(game), KEEL_WEB_PORT: String(web), SERVER_ADMIN_PORT: String(admin), SERVER_HEALTH_PORT: '0', KEEL_SCENES_DIR: scenes, SERVER_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.add(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, web: `http://127.0.0.1:${web}`, admin: `ws://127.0.0.1:${admin}`, exited };
}

/** The admin hello, or the HTTP status the upgrade was refused with. */
function attach(url: string, token: string, origin: string): Promise<{ hello: Record<string, unknown> } | { status: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, [ADMIN_SUBPROTOCOL, adminTokenSubprotocol(token)], { headers: { Origin: origin } });
    ws.on('message', (d) => {
      resolve({ hello: JSON.parse(d.toString()) as Record<string, unknown> });
      ws.close();
    });
    ws.on('unexpected-response', (_req, res) => {
      resolve({ status: res.statusCode ?? 0 });
      ws.terminate();
    });
    ws.on('error', reject);
  });
}

const meta = (html: string, name: string) => html.match(new RegExp(`<meta name="${name}" content="([^"]*)"`))?.[1] ?? null;

describe('npm start: the dev stack with the admin channel', () => {
  it('starts keel serve with admin on under a per-start token and hands it to the editor page only', async () => {
    const s = await startStack();
    await until(() => (/Editor  http/.test(s.out()) && /Listening on/.test(s.out()) ? true : undefined), 'both servers up', 60_000);
    // The startup lines name the admin address.
    expect(s.out()).toContain(`  Admin   ${s.admin}  (live view;`);

    const editor = await (await fetch(`${s.web}/editor/?scene=arena`)).text();
    expect(meta(editor, 'keel-admin-url')).toBe(s.admin);
    const token = meta(editor, 'keel-admin-token')!;
    expect(token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    // Not in the client page, not in the output, not on the server's command line.
    expect(await (await fetch(`${s.web}/client/?scene=arena`)).text()).not.toContain(token);
    expect(s.out()).not.toContain(token);
    const pid = Number(s.out().match(/keel serve .*, pid (\d+)\)/)![1]);
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')).not.toContain(token);
    expect((await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')).toEqual(expect.arrayContaining(['--admin-port', '--admin-host', '127.0.0.1']));

    // The token opens the channel from the editor's origin; a wrong one does not.
    const ok = await attach(s.admin, token, s.web);
    expect(ok).toMatchObject({ hello: { type: 'hello', scene: 'arena' } });
    expect(await attach(s.admin, `${token}x`, s.web)).toEqual({ status: 401 });
    expect(await attach(s.admin, token, 'http://evil.example')).toEqual({ status: 403 });

    // Ctrl-C stops both.
    process.kill(s.child.pid!, 'SIGINT');
    expect(await s.exited).toBe(0);
    await until(() => {
      try {
        process.kill(pid, 0);
        return undefined;
      } catch {
        return true;
      }
    }, 'keel serve to be gone', 10_000);

    // Another start, another token.
    const s2 = await startStack();
    await until(() => (/Editor  http/.test(s2.out()) ? true : undefined), 'the second stack up', 60_000);
    const token2 = meta(await (await fetch(`${s2.web}/editor/?scene=arena`)).text(), 'keel-admin-token');
    expect(token2).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(token2).not.toBe(token);
    process.kill(s2.child.pid!, 'SIGINT');
    expect(await s2.exited).toBe(0);
  }, 150_000);
});
