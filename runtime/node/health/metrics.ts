import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { LoopStats } from '../../core/index.js';

/** Where the metrics read live values at scrape time. */
export interface MetricsSource {
  loop(): LoopStats;
  scriptErrors(): number;
  /** Ticks that threw past every fence (counted, and the loop kept going). */
  tickErrors(): number;
  players(): number;
  entities(): number;
}

/**
 * The Prometheus metrics of one instance, in a registry of its own (never prom-client's global
 * one), every series labelled with the instance id and world.
 */
export class InstanceMetrics {
  readonly registry = new Registry();
  readonly tickDuration: Histogram;
  readonly tickLateness: Histogram;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly reloads: Counter<'result'>;
  /** From the first file event of a reload to the tick that applied it. */
  readonly reloadLatency: Histogram;
  readonly players: Gauge;
  readonly entities: Gauge;
  private readonly renders: Counter;

  constructor(labels: { id: string; world: string }, source: MetricsSource) {
    const loop = () => source.loop();
    const registers = [this.registry];
    this.registry.setDefaultLabels(labels);
    // The event-loop delay monitor samples on a timer; prom-client's default of 10 ms would wake an
    // idle server 100 times a second, more than its own 60 Hz loop does.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 100 });
    this.tickDuration = new Histogram({
      name: 'keel_tick_duration_seconds',
      help: 'Time spent running one tick (network in, physics, scripts, replication out).',
      buckets: [0.0005, 0.001, 0.002, 0.004, 0.008, 0.016, 0.033, 0.066, 0.1],
      registers,
    });
    this.tickLateness = new Histogram({
      name: 'keel_tick_lateness_seconds',
      help: 'How late each tick started after its deadline.',
      // Fine at the low end, where a healthy loop is: the p99 goal is 1 ms.
      buckets: [0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.004, 0.008, 0.016, 0.033],
      registers,
    });
    new Counter({
      name: 'keel_ticks_total',
      help: 'Ticks run since start.',
      registers,
      collect() {
        this.reset();
        this.inc(loop().ticks);
      },
    });
    new Counter({
      name: 'keel_tick_overruns_total',
      help: 'Ticks that ended after the next tick was due.',
      registers,
      collect() {
        this.reset();
        this.inc(loop().overruns);
      },
    });
    new Counter({
      name: 'keel_ticks_dropped_total',
      help: 'Ticks skipped when the loop fell too far behind and resynchronised.',
      registers,
      collect() {
        this.reset();
        this.inc(loop().droppedTicks);
      },
    });
    new Gauge({
      name: 'keel_tick_lateness_p99_seconds',
      help: 'p99 of how late ticks started after their deadline, over the last minute.',
      registers,
      collect() {
        this.set(loop().lateness.percentile(99) / 1000);
      },
    });
    new Counter({
      name: 'keel_script_errors_total',
      help: 'Script instances disabled after throwing.',
      registers,
      collect() {
        this.reset();
        this.inc(source.scriptErrors());
      },
    });
    new Counter({
      name: 'keel_tick_errors_total',
      help: 'Ticks that threw past every fence; /readyz answers 503 while they keep failing.',
      registers,
      collect() {
        this.reset();
        this.inc(source.tickErrors());
      },
    });
    this.players = new Gauge({
      name: 'keel_players',
      help: 'Connected players.',
      registers,
      collect() {
        this.set(source.players());
      },
    });
    this.entities = new Gauge({
      name: 'keel_entities',
      help: 'Entities in the world.',
      registers,
      collect() {
        this.set(source.entities());
      },
    });
    this.bytesIn = new Counter({ name: 'keel_network_received_bytes_total', help: 'Bytes received from clients.', registers });
    this.bytesOut = new Counter({ name: 'keel_network_sent_bytes_total', help: 'Bytes sent to clients.', registers });
    this.reloads = new Counter({ name: 'keel_scene_reloads_total', help: 'Scene hot reloads, by result.', labelNames: ['result'], registers });
    this.renders = new Counter({
      name: 'keel_metrics_renders_total',
      help: 'Times the game thread rendered this text; scrapes share snapshots, so at most about two a second.',
      registers,
    });
    for (const result of ['delta', 'full', 'rejected']) this.reloads.inc({ result }, 0);
    this.reloadLatency = new Histogram({
      name: 'keel_scene_reload_seconds',
      help: 'Hot reload latency: from the first file event of a burst to the tick that applied the new scene (delta or full).',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
  }

  text(): Promise<string> {
    this.renders.inc();
    return this.registry.metrics();
  }
}
