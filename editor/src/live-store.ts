/**
 * The editor's remote view of a running server: one AdminConnection to `keel serve --admin-port`
 * and the signals the Live panel reads (the streamed world, loop state, script errors). It never
 * touches the EditorStore: what a running server does is watched here, not edited into the
 * document.
 */
import { batch, signal } from '@preact/signals';
import { AdminConnection } from '../../runtime/browser/net/admin-connection.js';
import type { AdminEntity, AdminPhysicsView, AdminScriptError, AdminServerMessage } from '../../runtime/core/index.js';

/** localStorage key of the last admin URL (the token is never stored). */
export const LIVE_URL_KEY = 'keel-editor:live-url';
export const DEFAULT_LIVE_URL = 'ws://127.0.0.1:7780';
/** World frames a second the panel asks for. */
export const LIVE_HZ = 15;
/** localStorage key of the last fleet status URL. */
export const FLEET_URL_KEY = 'keel-editor:fleet-url';
export const DEFAULT_FLEET_URL = 'http://127.0.0.1:9000';
/** The `<meta>` names the dev server hands the editor its own server's admin channel in (runtime/node/dev/admin-meta-plugin.ts). */
const ADMIN_URL_META = 'keel-admin-url';
const ADMIN_TOKEN_META = 'keel-admin-token';
/** Script errors kept, newest last. */
const MAX_ERRORS = 100;

export type LiveStatus = 'detached' | 'connecting' | 'attached';

export interface LiveInfo {
  url: string;
  instance: string;
  world: string;
  scene: string;
  tickRate: number;
}

/** One fleet instance as the picker lists it (from the fleet's status listener). */
export interface FleetMember {
  id: string;
  port: number;
  health: string;
  players: number | null;
  /** ws://host:adminPort, or null when the fleet runs without admin ports. */
  adminUrl: string | null;
}

/** The admin channel of the dev stack's own server, when the page was handed one. */
export function devServerAdmin(doc: Document | null = typeof document === 'undefined' ? null : document): { url: string; token: string } | null {
  const url = doc?.querySelector<HTMLMetaElement>(`meta[name="${ADMIN_URL_META}"]`)?.content ?? '';
  const token = doc?.querySelector<HTMLMetaElement>(`meta[name="${ADMIN_TOKEN_META}"]`)?.content ?? '';
  return url && token ? { url, token } : null;
}

export class LiveStore {
  readonly status = signal<LiveStatus>('detached');
  readonly dialogOpen = signal(false);
  readonly info = signal<LiveInfo | null>(null);
  readonly tick = signal(0);
  readonly paused = signal(false);
  readonly entities = signal<readonly AdminEntity[]>([]);
  /** Each entity's components as the stream last sent them. */
  private lastComponents = new Map<string, Record<string, unknown>>();
  readonly errors = signal<readonly AdminScriptError[]>([]);
  readonly selected = signal<string | null>(null);
  /** Why the last attach failed or the connection closed, shown in the dialog or the panel. */
  readonly problem = signal<string | null>(null);
  /** World frames received since attaching (the panel shows the rate). */
  readonly frames = signal(0);
  /** The latest physics debug view (bodies, contacts), streamed with each world frame. */
  readonly physics = signal<AdminPhysicsView | null>(null);
  /** The Live panel folded to its header, leaving the viewport free to work in. */
  readonly collapsed = signal(false);
  /** Whether the viewport draws the live world over the scene (editor/src/live-view.ts). */
  readonly showWorld = signal(true);
  /** The fleet picker: instances listed from a fleet's status listener, and why listing failed. */
  readonly fleet = signal<readonly FleetMember[]>([]);
  readonly fleetProblem = signal<string | null>(null);
  /** The dev stack's own server (scripts/dev.mjs), offered in the dialog with no typing. */
  readonly devServer = devServerAdmin();
  private conn: AdminConnection | null = null;

  constructor(private readonly storage: Storage | null = safeStorage()) {}

  get lastFleetUrl(): string {
    try {
      return this.storage?.getItem(FLEET_URL_KEY) || DEFAULT_FLEET_URL;
    } catch {
      return DEFAULT_FLEET_URL;
    }
  }

  /** Attaches to the server `npm start` runs beside this editor. */
  attachDevServer(): Promise<boolean> {
    if (!this.devServer) {
      this.problem.value = 'This page was not served by `npm start`, so it knows no server of its own: enter an admin URL and token.';
      return Promise.resolve(false);
    }
    return this.attach(this.devServer.url, this.devServer.token);
  }

  /**
   * Lists a `keel fleet`'s instances from its status listener (`http://host:statusPort`); each
   * with its admin URL when the fleet runs with --admin-base-port.
   */
  async listFleet(statusUrl: string): Promise<boolean> {
    let u: URL;
    try {
      u = new URL(statusUrl);
      if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('scheme');
    } catch {
      this.fleetProblem.value = `Not a fleet status URL: "${statusUrl}" (expected http://host:statusPort, e.g. ${DEFAULT_FLEET_URL})`;
      return false;
    }
    try {
      this.storage?.setItem(FLEET_URL_KEY, statusUrl);
    } catch {
      // Only a convenience.
    }
    try {
      const res = await fetch(new URL('/status', u), { signal: AbortSignal.timeout(5000) });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = (await res.json()) as { instances?: { id: string; port: number; health: string; players: number | null; adminPort?: number | null }[] };
      if (!Array.isArray(body.instances)) throw new Error('no "instances" list in the answer');
      this.fleet.value = body.instances.map((i) => ({
        id: i.id,
        port: i.port,
        health: i.health,
        players: i.players,
        adminUrl: typeof i.adminPort === 'number' && i.adminPort > 0 ? `ws://${u.hostname}:${i.adminPort}` : null,
      }));
      this.fleetProblem.value = this.fleet.value.some((m) => m.adminUrl) ? null : 'This fleet runs without admin ports (start it with --admin-base-port and SERVER_ADMIN_TOKEN).';
      return true;
    } catch (err) {
      this.fleet.value = [];
      this.fleetProblem.value = `Could not list the fleet at ${statusUrl}: ${(err as Error).message}`;
      return false;
    }
  }

  get lastUrl(): string {
    try {
      return this.storage?.getItem(LIVE_URL_KEY) || DEFAULT_LIVE_URL;
    } catch {
      return DEFAULT_LIVE_URL;
    }
  }

  /** Attaches to the admin channel at `url`; resolves true once the server said hello. */
  async attach(url: string, token: string): Promise<boolean> {
    const bad = checkAdminUrl(url);
    if (bad) {
      this.problem.value = bad;
      return false;
    }
    if (token === '') {
      this.problem.value = 'Enter the admin token (the server’s SERVER_ADMIN_TOKEN or --admin-token).';
      return false;
    }
    this.detach();
    try {
      this.storage?.setItem(LIVE_URL_KEY, url);
    } catch {
      // Storage full or blocked: the URL is only a convenience.
    }
    this.status.value = 'connecting';
    this.problem.value = null;
    const conn = new AdminConnection({
      url,
      token,
      onMessage: (m) => {
        if (this.conn === conn) this.onMessage(m);
      },
      onClose: (code, reason) => {
        if (this.conn !== conn) return;
        this.conn = null;
        if (this.status.value === 'attached') {
          this.status.value = 'detached';
          this.problem.value = `The server closed the admin channel (${code}${reason ? `: ${reason}` : ''}).`;
        }
      },
    });
    this.conn = conn;
    try {
      const hello = await conn.connect();
      if (this.conn !== conn) return false;
      batch(() => {
        this.info.value = { url, instance: hello.instance, world: hello.world, scene: hello.scene, tickRate: hello.tickRate };
        this.tick.value = hello.tick;
        this.paused.value = hello.paused;
        this.entities.value = [];
        this.errors.value = [];
        this.frames.value = 0;
        this.physics.value = null;
        this.selected.value = null;
        this.status.value = 'attached';
        this.dialogOpen.value = false;
      });
      conn.subscribe({ hz: LIVE_HZ, components: true, physics: true });
      return true;
    } catch {
      if (this.conn === conn) this.conn = null;
      this.status.value = 'detached';
      // A browser sees only that the upgrade failed, never the 401 or 403 behind it.
      this.problem.value =
        `Refused: ${url} did not accept this token, or does not allow this page’s origin (${location.origin}; see --admin-origin), ` +
        'or no keel server with an admin port is listening there.';
      return false;
    }
  }

  detach(): void {
    const conn = this.conn;
    this.conn = null;
    conn?.close();
    batch(() => {
      this.status.value = 'detached';
      this.info.value = null;
      this.entities.value = [];
      this.physics.value = null;
      this.selected.value = null;
    });
  }

  pause(): void {
    this.conn?.pause();
  }

  resume(): void {
    this.conn?.resume();
  }

  step(ticks = 1): void {
    this.conn?.step(ticks);
  }

  /** Fills in the components a frame leaves out (unchanged since the last frame that had them). */
  private withComponents(entities: AdminEntity[]): AdminEntity[] {
    const seen = new Map<string, Record<string, unknown>>();
    for (const e of entities) {
      const c = e.components ?? this.lastComponents.get(e.id);
      if (c) {
        e.components = c;
        seen.set(e.id, c);
      }
    }
    this.lastComponents = seen;
    return entities;
  }

  private onMessage(m: AdminServerMessage): void {
    switch (m.type) {
      case 'world':
        batch(() => {
          this.tick.value = m.tick;
          this.paused.value = m.paused;
          this.entities.value = this.withComponents(m.entities);
          if (m.physics) this.physics.value = m.physics;
          this.frames.value++;
        });
        break;
      case 'loop':
        batch(() => {
          this.tick.value = m.tick;
          this.paused.value = m.paused;
        });
        break;
      case 'scriptError': {
        const { type: _t, ...err } = m;
        const list = [...this.errors.value, err];
        this.errors.value = list.length > MAX_ERRORS ? list.slice(list.length - MAX_ERRORS) : list;
        break;
      }
      case 'error':
        this.problem.value = `Server: ${m.message}`;
        break;
      default:
        break;
    }
  }
}

/** Why `url` cannot be an admin URL, or null. */
export function checkAdminUrl(url: string): string | null {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return `Not a URL: "${url}" (expected ws://host:adminPort, e.g. ${DEFAULT_LIVE_URL})`;
  }
  if (u.protocol !== 'ws:' && u.protocol !== 'wss:') return `The admin URL must start with ws:// or wss:// (got ${u.protocol}//)`;
  if (u.search.includes('token')) return 'Put the token in the token field, not the URL (URLs end up in history)';
  return null;
}

function safeStorage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null;
  }
}
