import type { FleetReport, InstanceReport } from './fleet.js';

/**
 * The live terminal view: a status table redrawn once a second with the latest log lines below
 * it. Only on a terminal; elsewhere the fleet just writes log lines.
 */
export class StatusView {
  private readonly tail: string[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly out: NodeJS.WriteStream,
    private readonly report: () => FleetReport,
    private readonly title: string,
  ) {}

  /** Keeps a log line for the pane under the table. */
  line(text: string): void {
    this.tail.push(text);
    if (this.tail.length > 200) this.tail.splice(0, this.tail.length - 200);
  }

  start(): void {
    this.out.write('\x1b[?25l'); // hide the cursor while redrawing
    this.draw();
    this.timer = setInterval(() => this.draw(), 1000);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.draw();
    this.out.write('\x1b[?25h\n');
  }

  private draw(): void {
    const rows = this.out.rows || 40;
    const cols = this.out.columns || 120;
    const r = this.report();
    const table = renderTable(r.instances);
    const head = `${this.title}  ${r.mode} mode  ${r.healthy}/${r.count} healthy  restarts ${r.restarts}  fleet pid ${r.pid}  cpu ${fmtPct(r.cpuPercent)}  rss ${fmtBytes(r.rssBytes)}${r.stopping ? '  DRAINING' : ''}`;
    const room = Math.max(0, rows - table.length - 4);
    const logs = room > 0 ? this.tail.slice(-room) : [];
    const lines = [head, renderMemory(r), '', ...table, '', ...logs].map((l) => (l.length > cols ? l.slice(0, cols - 1) : l));
    this.out.write(`\x1b[H\x1b[2J${lines.join('\n')}`);
  }
}

const fmtPct = (n: number | null) => (n === null ? 'n/a' : `${n.toFixed(1)}%`);
const fmtBytes = (n: number | null) => (n === null ? 'n/a' : `${(n / 1048576).toFixed(0)} MB`);

/**
 * The fleet's memory as one line: RSS and PSS summed over its processes (the fleet's alone in
 * thread mode, where the instances are its threads) and the heightfields, with how many copies
 * of them are in memory, so what N instances cost together is visible at a glance.
 */
export function renderMemory(r: Pick<FleetReport, 'mode' | 'count' | 'memory'>): string {
  const m = r.memory;
  const n = r.count;
  const plural = (k: number, word: string) => `${k} ${word}${k === 1 ? '' : 'es'}`;
  const who = r.mode === 'thread' ? `${plural(m.processes, 'process')}: the fleet and its ${n} instance thread${n === 1 ? '' : 's'}` : `${plural(m.processes, 'process')}: the fleet and ${m.processes - 1} instance${m.processes === 2 ? '' : 's'}`;
  let line = `memory  rss ${fmtBytes(m.rssBytes)}  pss ${fmtBytes(m.pssBytes)}  (${who})`;
  if (m.assetBytes > 0) {
    line += `  heightfields ${fmtBytes(m.assetBytes)}, ${
      r.mode === 'thread' ? `one copy shared by all ${n} instance${n === 1 ? '' : 's'}` : `${m.assetCopies} cop${m.assetCopies === 1 ? 'y' : 'ies'} (one per instance process)`
    }`;
  }
  return line;
}

/**
 * The table as lines of text: id, port, (admin port, when the fleet has an admin channel),
 * pid or thread, players, tick p99, CPU %, RSS, restarts, CPUs, health.
 */
export function renderTable(instances: readonly InstanceReport[]): string[] {
  const admin = instances.some((i) => i.adminPort !== null);
  const header = ['ID', 'PORT', ...(admin ? ['ADMIN'] : []), 'PID/THREAD', 'PLAYERS', 'TICK P99', 'CPU %', 'RSS', 'RESTARTS', 'CPUS', 'HEALTH'];
  const rows = instances.map((i) => [
    i.id,
    String(i.port),
    ...(admin ? [i.adminPort === null ? '-' : String(i.adminPort)] : []),
    i.pid === null ? '-' : i.threadId !== null ? `t${i.threadId}${i.tid !== null ? `/${i.tid}` : ''}` : String(i.pid),
    i.players === null ? '-' : String(i.players),
    i.tickP99Ms === null ? '-' : `${i.tickP99Ms.toFixed(2)} ms`,
    fmtPct(i.cpuPercent),
    i.rssBytes !== null ? fmtBytes(i.rssBytes) : i.heapUsedBytes !== null ? `heap ${fmtBytes(i.heapUsedBytes)}` : 'n/a',
    String(i.restarts),
    i.cpusAllowed ?? i.cpus ?? 'any',
    i.state === 'restarting' ? `down (restart in ${((i.nextStartInMs ?? 0) / 1000).toFixed(1)} s)` : i.health,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const fmt = (r: string[]) => r.map((v, c) => v.padEnd(widths[c]!)).join('  ').trimEnd();
  return [fmt(header), ...rows.map(fmt)];
}
