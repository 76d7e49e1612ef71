/**
 * The client benchmark's page (bench/client/index.mjs drives it in headless Chromium). It
 * exposes `window.keelBench` with one function per measurement; each runs the client's real
 * code (ConnectedPlay, WorldView, the renderer) and returns plain figures.
 */
import * as THREE from 'three';
import {
  decodeClient,
  encodeServer,
  MessageType,
  Players,
  PROTOCOL_VERSION,
  ReplicaClient,
  Replicator,
  RunMode,
  Simulation,
  silentLogger,
  validateEntity,
  World,
  type EntityDocument,
} from '../../runtime/core/index.js';
import { ConnectedPlay } from '../../runtime/browser/app/connected-play.js';
import { PlayerInputSource } from '../../runtime/browser/input/player-input.js';
import { loadBrowserScene, type BrowserScene } from '../../runtime/browser/scene/scene-source.js';
import { createRenderer } from '../../runtime/browser/view/renderer.js';
import { WorldView } from '../../runtime/browser/view/world-view.js';

const COLORS = ['#e4572e', '#29335c', '#f3a712', '#669bbc', '#a8c686', '#8e44ad', '#16a085', '#d35400'];

function body(i: number, n: number): EntityDocument {
  const side = Math.ceil(Math.sqrt(n));
  const shape = i % 2 === 0 ? { shape: 'box', size: [0.8, 0.8, 0.8] } : { shape: 'sphere', radius: 0.4 };
  const r = validateEntity(
    {
      id: `body-${i}`,
      components: {
        transform: { position: [(i % side) - side / 2, 1 + (i % 5), Math.floor(i / side) - side / 2] },
        mesh: shape,
        material: { color: COLORS[i % COLORS.length] },
        rigidBody: { type: 'dynamic', mass: 1 },
        collider: i % 2 === 0 ? { shape: 'box', size: [0.8, 0.8, 0.8] } : { shape: 'sphere', radius: 0.4 },
      },
    },
    'bench',
  );
  if (!r.ok) throw new Error(r.problems[0]!.message);
  return r.entity;
}

/** A stand-in WebSocket whose other end is a function in this page. */
class LoopSocket {
  binaryType = 'arraybuffer';
  readyState: number = WebSocket.CONNECTING;
  onopen: (() => void) | null = null;
  onmessage: ((e: { data: ArrayBuffer }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  constructor(private readonly toServer: (bytes: Uint8Array) => void) {
    queueMicrotask(() => {
      this.readyState = WebSocket.OPEN;
      this.onopen?.();
    });
  }
  send(bytes: Uint8Array): void {
    this.toServer(bytes);
  }
  deliver(bytes: Uint8Array): void {
    this.onmessage?.({ data: bytes.slice().buffer });
  }
  close(): void {
    this.readyState = WebSocket.CLOSED;
  }
}

const sceneOf = (n: number): BrowserScene => ({
  name: 'bench',
  file: 'bench',
  hash: '',
  scripts: new Map(),
  heightfields: new Map(),
  doc: {
    format: 'keel-scene',
    version: 1,
    name: 'bench',
    settings: { gravity: [0, -9.81, 0], tickRate: 60, maxPlayers: 4 },
    entities: [
      {
        id: 'ground',
        components: {
          transform: { position: [0, -0.5, 0], rotation: [0, 0, 0], scale: [1, 1, 1] },
          collider: { shape: 'box', size: [400, 1, 400], offset: [0, 0, 0], friction: 0.4, restitution: 0.1, trigger: false },
        },
      },
    ],
  } as BrowserScene['doc'],
});

/**
 * Snapshot apply + interpolation + transform upload for `n` replicated entities moving every
 * tick, instanced (the client's WorldView) and naive (one Mesh and material per entity),
 * measured per frame with performance.now() around the client's update, and separately the
 * render call (where the GPU uploads happen) on a small canvas.
 */
async function applyAndDraw(n: number, frames: number): Promise<Record<string, unknown>> {
  // The server side: a world of n bodies moved by a formula every tick, replicated at 20 Hz.
  const server = new World();
  for (let i = 0; i < n; i++) server.add(body(i, n));
  const replicator = new Replicator(server);
  const replica = new ReplicaClient();
  let socket: LoopSocket | null = null;
  let inputSeq = 0;
  const input = new PlayerInputSource(document.body);
  /** The bench's clock (below): what the page's frames and the client's arrival times read. */
  let clock = performance.now();
  const session = new ConnectedPlay({
    url: 'ws://bench',
    name: 'bench',
    now: () => clock,
    scene: sceneOf(n),
    input,
    socket: () => {
      socket = new LoopSocket((bytes) => {
        const msg = decodeClient(bytes);
        if (msg.type === MessageType.Hello) {
          socket!.deliver(encodeServer({ type: MessageType.Welcome, protocol: PROTOCOL_VERSION, playerEntity: 'none', scene: 'bench', sceneHash: '0'.repeat(64), tickRate: 60, sendRate: 20, tick: 0 }));
        } else if (msg.type === MessageType.Input) {
          if (msg.ack) replica.ack(msg.ack);
          inputSeq = msg.inputs[msg.inputs.length - 1]!.seq;
        } else if (msg.type === MessageType.Ack) replica.ack(msg.tick);
      }) as unknown as LoopSocket;
      return socket as unknown as WebSocket;
    },
  });
  await new Promise((r) => setTimeout(r, 0));
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  document.body.append(canvas);
  const renderer = createRenderer({ canvas, antialias: false });
  renderer.setSize(64, 64, false);
  const camera = new THREE.PerspectiveCamera(60, 1, 0.1, 500);
  camera.position.set(0, 40, 60);
  camera.lookAt(0, 0, 0);

  const view = new WorldView({ world: session.world });
  // Naive: one Mesh (and material) per entity, posed by copying each entity's pose every frame.
  const naiveScene = new THREE.Scene();
  naiveScene.add(new THREE.AmbientLight(0xffffff, 0.5), new THREE.DirectionalLight(0xffffff, 1));
  const naive = new Map<string, THREE.Mesh>();
  const box = new THREE.BoxGeometry(0.8, 0.8, 0.8);
  const sphere = new THREE.SphereGeometry(0.4, 24, 16);

  const t0 = performance.now();
  let tick = 0;
  const sample = {
    instanced: { update: [] as number[], applying: [] as number[], render: [] as number[] },
    naive: { update: [] as number[], applying: [] as number[], render: [] as number[] },
  };
  // The page's clock in this measurement: 60 frames a second, one server tick per frame and a
  // snapshot every third, as on a 60 Hz display with the default 20 Hz send rate, however fast
  // headless Chromium's software compositor actually turns frames.
  let frameNo = 0;
  clock = t0;
  const step = (mode: 'instanced' | 'naive') => {
    const now = (clock = t0 + ++frameNo * (1000 / 60));
    const due = Math.floor((now - t0) / (1000 / 60));
    const a = performance.now();
    while (tick < due) {
      tick++;
      const t = tick / 60;
      let i = 0;
      for (const e of server.values()) {
        const k = i++;
        server.setPose(e, [Math.sin(t + k) * 20, 1 + Math.abs(Math.sin(t * 2 + k)) * 3, Math.cos(t * 0.7 + k) * 20], e.rotation);
      }
      if (tick % 3 === 0) {
        replicator.capture(tick);
        socket!.deliver(replicator.encodeFor(replica, inputSeq));
      }
    }
    const b = performance.now();
    const snapshotsBefore = session.client.snapshots;
    session.frame(now);
    const applied = session.client.snapshots - snapshotsBefore;
    if (mode === 'instanced') view.sync(camera);
    else {
      for (const e of session.world.values()) {
        let m = naive.get(e.id);
        if (!m) {
          const mat = new THREE.MeshStandardMaterial({ color: (e.components.material?.color as string) ?? '#cccccc' });
          m = new THREE.Mesh(e.components.mesh?.shape === 'sphere' ? sphere : box, mat);
          naive.set(e.id, m);
          naiveScene.add(m);
        }
        m.position.set(e.position[0], e.position[1], e.position[2]);
        m.quaternion.set(e.rotation[0], e.rotation[1], e.rotation[2], e.rotation[3]);
      }
    }
    const c = performance.now();
    renderer.info.reset();
    renderer.render(mode === 'instanced' ? view.scene : naiveScene, camera);
    const d = performance.now();
    // Server-side work (a - b) is the benchmark's own, not the client's: left out.
    return { update: c - b, applied, render: d - c, calls: renderer.info.render.calls, entities: session.world.size, _server: b - a };
  };
  let calls = { instanced: 0, naive: 0 };
  let entities = 0;
  for (const mode of ['instanced', 'naive'] as const) {
    for (let f = 0; f < frames; f++) {
      await new Promise((r) => requestAnimationFrame(r));
      const r = step(mode);
      if (f >= 10) {
        sample[mode].update.push(r.update);
        if (r.applied > 0) sample[mode].applying.push(r.update);
        sample[mode].render.push(r.render);
      }
      calls[mode] = r.calls;
      entities = r.entities;
    }
  }
  session.dispose();
  view.dispose();
  renderer.dispose();
  input.dispose();
  canvas.remove();
  return { entities, calls, sample };
}

/** Draw calls for the arena plus `extra` moving bodies through the client's view, and one Mesh per entity for comparison. */
async function drawCalls(extra: number): Promise<Record<string, number>> {
  const scene = await loadBrowserScene('arena', RunMode.Client);
  const sim = new Simulation({ scene: scene.doc, mode: RunMode.Client, logger: silentLogger(), scripts: scene.scripts });
  new Players(sim).join('bench');
  for (let i = 0; i < extra; i++) sim.world.add(body(i, extra));
  for (let t = 1; t <= 30; t++) sim.tick(1 / 60, t);
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 64;
  document.body.append(canvas);
  const renderer = createRenderer({ canvas, antialias: false });
  renderer.setSize(64, 64, false);
  const view = new WorldView({ world: sim.world, loadModel: (a) => import('../../runtime/browser/view/models.js').then((m) => m.loadGlb(`/__keel/scenes/${a}`)) });
  await new Promise((r) => setTimeout(r, 500)); // models
  const camera = new THREE.PerspectiveCamera(60, 1, 0.1, 500);
  camera.position.set(0, 30, 40);
  camera.lookAt(0, 0, 0);
  view.sync(camera);
  renderer.info.reset();
  renderer.render(view.scene, camera);
  const calls = renderer.info.render.calls;
  let meshes = 0;
  for (const e of sim.world.values()) if (e.components.mesh) meshes++;
  const shadowCasters = [...sim.world.values()].some((e) => e.components.light?.castShadow);
  view.dispose();
  renderer.dispose();
  canvas.remove();
  sim.dispose();
  return { calls, entities: sim.world.size, meshes, naiveCalls: meshes * (shadowCasters ? 2 : 1) };
}

/**
 * Own-player prediction against a real server through a socket that adds `delayMs` each way:
 * once the player has landed, it runs straight along x from its spawn point (z = ±15, clear of
 * the crates and of the moving platform, which the prediction does not simulate), W for
 * `legSeconds` towards x = 0, then S as far back, for `seconds` in all. Returns every
 * reconciliation's error, how far the server's position lay from the newest prediction then
 * (what a client without prediction would show), and how many inputs after a turn it was.
 */
async function prediction(url: string, delayMs: number, seconds: number, legSeconds: number): Promise<Record<string, unknown>> {
  const scene = await loadBrowserScene('arena', RunMode.Client);
  const input = new PlayerInputSource(document.body);
  const delayed = (u: string): WebSocket => {
    const real = new WebSocket(u);
    real.binaryType = 'arraybuffer';
    const proxy = {
      binaryType: 'arraybuffer',
      get readyState() {
        return real.readyState;
      },
      onopen: null as (() => void) | null,
      onmessage: null as ((e: { data: unknown }) => void) | null,
      onclose: null as ((e: CloseEvent) => void) | null,
      onerror: null as (() => void) | null,
      send(b: Uint8Array) {
        const copy = b.slice();
        setTimeout(() => real.readyState === WebSocket.OPEN && real.send(copy), delayMs);
      },
      close(code?: number, reason?: string) {
        real.close(code, reason);
      },
    };
    real.onopen = () => proxy.onopen?.();
    real.onmessage = (e) => setTimeout(() => proxy.onmessage?.({ data: e.data }), delayMs);
    real.onclose = (e) => proxy.onclose?.(e);
    real.onerror = () => proxy.onerror?.();
    return proxy as unknown as WebSocket;
  };
  const session = new ConnectedPlay({ url, scene, input, name: 'bench', socket: delayed });
  const frame = () => new Promise((r) => requestAnimationFrame(r));
  const deadline = performance.now() + 20_000;
  // Joined, and landed: the spawn point drops the player half a metre.
  let seen: number | null = null;
  while (performance.now() < deadline) {
    await frame();
    const now = performance.now();
    session.frame(now);
    if (session.ownPosition() && session.predictionLog.length > 0) seen ??= now;
    if (seen !== null && now - seen > 1000) break;
  }
  const at = session.ownPosition();
  const p0 = at ? [...at] : null;
  if (!p0 || seen === null) throw new Error('prediction: the player never appeared');
  input.yaw = p0[0]! < 0 ? -Math.PI / 2 : Math.PI / 2; // forward (W) is towards x = 0
  // The sequence number of the newest input sampled, to know which inputs follow a turn.
  let sampled = 0;
  const sample = input.sample.bind(input);
  input.sample = (seq: number) => {
    sampled = seq;
    return sample(seq);
  };
  const turns: number[] = [];
  const first = session.predictionLog.length;
  const start = performance.now();
  let key = '';
  while (performance.now() - start < seconds * 1000) {
    const want = Math.floor((performance.now() - start) / (legSeconds * 1000)) % 2 === 0 ? 'KeyW' : 'KeyS';
    if (want !== key) {
      if (key) window.dispatchEvent(new KeyboardEvent('keyup', { code: key }));
      window.dispatchEvent(new KeyboardEvent('keydown', { code: want }));
      key = want;
      turns.push(sampled + 1);
    }
    await frame();
    session.frame(performance.now());
  }
  window.dispatchEvent(new KeyboardEvent('keyup', { code: key }));
  // Per reconciliation: its error, its no-prediction lag, and how many inputs after the last turn it is.
  const log = session.predictionLog.slice(first).map((r) => {
    const turn = turns.filter((t) => t <= r.seq).pop();
    return { error: r.error, lag: r.lag, sinceTurn: turn === undefined ? null : r.seq - turn };
  });
  const ping = session.client.pingMs;
  const end = session.ownPosition();
  session.dispose();
  input.dispose();
  return { log, pingMs: ping, ran: end ? Math.hypot(end[0] - p0[0]!, end[2] - p0[2]!) : null };
}

(window as unknown as { keelBench: unknown }).keelBench = { applyAndDraw, drawCalls, prediction };
