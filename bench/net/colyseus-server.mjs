#!/usr/bin/env node
/**
 * Baseline (b) of the network benchmark: the same game on Colyseus, written the way the
 * Colyseus documentation teaches. One Room whose state is a MapSchema of entity transforms
 * (position and rotation quaternion as float32, the compact choice of @colyseus/schema), a
 * fixed-step simulation driven by setSimulationInterval with an accumulator, the patch rate
 * set to the send rate, player input as room messages. The simulation is the same as keel's
 * (keel's compiled core: physics, scene scripts, player movement; see sim-host.mjs); after
 * each step the poses that changed are copied into the state, and Colyseus' change tracking
 * sends what changed at each patch.
 *
 *   node bench/net/colyseus-server.mjs --scene <file> --port <port> [--tick-rate 60] [--send-rate 20] [--max-players 64] [--quantised]
 *
 * Built on @colyseus/core and @colyseus/ws-transport, the two packages the `colyseus` package
 * re-exports for a server like this one (that package also pulls optional transports and
 * drivers through peer dependencies that are not needed here).
 *
 * The room "arena" is created at start (clients join it by name). Prints "listening <port>" once
 * ready; on SIGUSR2 prints the durations of the window's simulation steps ("tick") and patches
 * ("send") as one JSON line (sim-host.mjs); exits on SIGTERM or when the process that started
 * it is gone.
 */
import { performance } from 'node:perf_hooks';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { matchMaker, Room, Server } from '@colyseus/core';
import { WebSocketTransport } from '@colyseus/ws-transport';
import { defineTypes, Encoder, MapSchema, Schema } from '@colyseus/schema';
import { exitWithParent, loadScenario, onReportSignal, serverArgs, TickTimes } from './sim-host.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = serverArgs('colyseus-server.mjs');
const { tickRate, sendRate, maxPlayers } = args;
const STEP_MS = 1000 / tickRate;
const MAX_CATCH_UP = 4;

// The state of this scene is larger than the encoder's default buffer: raised, as Colyseus'
// own warning advises (it grows the buffer anyway, with that warning on each overflow).
Encoder.BUFFER_SIZE = 64 * 1024;

class Transform extends Schema {
  constructor(p, q) {
    super();
    this.x = POS(p[0]);
    this.y = POS(p[1]);
    this.z = POS(p[2]);
    this.qx = ROT(q[0]);
    this.qy = ROT(q[1]);
    this.qz = ROT(q[2]);
    this.qw = ROT(q[3]);
  }
}
/**
 * With --quantised, the same precision keel sends instead of float32: positions as int32 in
 * units of 1/512 m (about 2 mm), quaternion components as int16 in units of 1/32767. The byte
 * comparison then measures protocol design, not precision.
 */
const QUANTISED = process.argv.includes('--quantised');
const POS = QUANTISED ? (v) => Math.round(v * 512) : (v) => v;
const ROT = QUANTISED ? (v) => Math.round(Math.max(-1, Math.min(1, v)) * 32767) : (v) => v;
const [POS_TYPE, ROT_TYPE] = QUANTISED ? ['int32', 'int16'] : ['float32', 'float32'];
defineTypes(Transform, { x: POS_TYPE, y: POS_TYPE, z: POS_TYPE, qx: ROT_TYPE, qy: ROT_TYPE, qz: ROT_TYPE, qw: ROT_TYPE });

class ArenaState extends Schema {
  constructor() {
    super();
    this.entities = new MapSchema();
  }
}
defineTypes(ArenaState, { entities: { map: Transform } });

const times = new TickTimes();
let stats = () => ({});

class ArenaRoom extends Room {
  maxClients = maxPlayers;
  autoDispose = false;
  patchRate = 1000 / sendRate;
  state = new ArenaState();

  async onCreate() {
    const { sim, players } = await loadScenario(repo, args.scene);
    this.sim = sim;
    this.players = players;
    this.tickNumber = 0;
    this.elapsedTime = 0;
    this.dropped = 0;
    /** Pose version of each entity last copied into the state. */
    this.copied = new Map();
    const entities = this.state.entities;
    for (const e of sim.world.values()) entities.set(e.id, new Transform(e.position, e.rotation));
    sim.world.on((ev) => {
      if (ev.type === 'added') entities.set(ev.entity.id, new Transform(ev.entity.position, ev.entity.rotation));
      else if (ev.type === 'removed') {
        entities.delete(ev.entity.id);
        this.copied.delete(ev.entity.id);
      }
    });

    this.onMessage('input', (client, input) => {
      const player = client.userData?.player;
      if (!player || typeof input !== 'object' || input === null) return;
      const n = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
      players.enqueue(player, [{ seq: n(input.seq), moveX: n(input.moveX), moveZ: n(input.moveZ), jump: input.jump === true, yaw: n(input.yaw) }]);
    });

    this.setSimulationInterval((deltaTime) => this.update(deltaTime), STEP_MS);
    stats = () => ({ ticks: this.tickNumber, dropped: this.dropped, players: players.count, entities: sim.world.size });
  }

  onJoin(client, options) {
    client.userData = { player: this.players.join(String(options?.name ?? '').slice(0, 32)) };
  }

  onLeave(client) {
    if (client.userData?.player) this.players.leave(client.userData.player);
  }

  update(deltaTime) {
    this.elapsedTime += deltaTime;
    for (let steps = 0; this.elapsedTime >= STEP_MS && steps < MAX_CATCH_UP; steps++) {
      this.elapsedTime -= STEP_MS;
      this.fixedTick();
    }
    if (this.elapsedTime >= STEP_MS) {
      this.dropped += Math.floor(this.elapsedTime / STEP_MS);
      this.elapsedTime %= STEP_MS;
    }
  }

  fixedTick() {
    const t0 = performance.now();
    this.sim.tick(STEP_MS / 1000, this.tickNumber++);
    const entities = this.state.entities;
    for (const e of this.sim.world.values()) {
      if (this.copied.get(e.id) === e.version) continue;
      this.copied.set(e.id, e.version);
      const t = entities.get(e.id);
      if (!t) continue;
      const [x, y, z] = e.position;
      const [qx, qy, qz, qw] = e.rotation;
      // Assigning an equal value is no change to Colyseus: a quantised pose that did not move
      // by a whole unit sends nothing, as in keel.
      t.x = POS(x);
      t.y = POS(y);
      t.z = POS(z);
      t.qx = ROT(qx);
      t.qy = ROT(qy);
      t.qz = ROT(qz);
      t.qw = ROT(qw);
    }
    times.record('tick', performance.now() - t0);
  }

  broadcastPatch() {
    const t0 = performance.now();
    const changed = super.broadcastPatch();
    times.record('send', performance.now() - t0);
    return changed;
  }
}

// Colyseus' own signal handling would also shut down on SIGUSR2, which the bench uses for
// reports: shutdown on SIGTERM/SIGINT is wired below instead, to the same graceful shutdown.
const gameServer = new Server({ transport: new WebSocketTransport(), greet: false, gracefullyShutdown: false });
gameServer.define('arena', ArenaRoom);
await gameServer.listen(Number(args.port), '127.0.0.1');
await matchMaker.createRoom('arena', {});

onReportSignal(times, () => stats());
process.stdout.write(`listening ${args.port}\n`);
exitWithParent();

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 3000).unref();
  void gameServer.gracefullyShutdown(true);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
