/**
 * deploy/grafana/keel-dashboard.json: valid JSON in Grafana's dashboard model, every query
 * filtered by the id and world variables, and every metric it queries really served by a
 * running `keel serve` on /metrics, with the labels the filters use.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, startKeel, stopAll } from '../helpers/keel-process.js';
import { freePort } from '../helpers/ports.js';

interface Target {
  refId: string;
  expr: string;
  legendFormat: string;
  datasource: { type: string; uid: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type: string; uid: string };
  targets?: Target[];
}
interface Variable {
  type: string;
  name: string;
  query: unknown;
  definition?: string;
}

const FILE = join(REPO, 'deploy', 'grafana', 'keel-dashboard.json');
const dashboard = JSON.parse(readFileSync(FILE, 'utf8')) as {
  schemaVersion: number;
  uid: string;
  title: string;
  panels: Panel[];
  templating: { list: Variable[] };
};
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const DS = { type: 'prometheus', uid: '${DS_PROMETHEUS}' };

/** Metric names a PromQL expression selects: identifiers followed by a label matcher. */
function selectors(expr: string): { metric: string; matchers: string }[] {
  return [...expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}/g)].map((m) => ({ metric: m[1]!, matchers: m[2]! }));
}

afterEach(stopAll);

describe('deploy/grafana/keel-dashboard.json', () => {
  it('is a Grafana dashboard with a Prometheus datasource variable and id/world variables', () => {
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    const vars = Object.fromEntries(dashboard.templating.list.map((v) => [v.name, v]));
    expect(vars.DS_PROMETHEUS).toMatchObject({ type: 'datasource', query: 'prometheus' });
    expect(vars.id).toMatchObject({ type: 'query', definition: 'label_values(keel_ticks_total, id)', datasource: DS });
    expect(vars.world).toMatchObject({ type: 'query', datasource: DS });
    expect(vars.world!.definition).toMatch(/^label_values\(keel_ticks_total(\{[^}]*\})?, world\)$/);

    const ids = dashboard.panels.map((p) => p.id);
    expect(new Set(ids).size, 'panel ids are unique').toBe(ids.length);
    // Panels fit the 24-column grid and do not overlap.
    const cells = new Set<string>();
    for (const p of dashboard.panels) {
      const g = p.gridPos;
      expect(g.x + g.w, `${p.title} fits the grid`).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${p.title} overlaps another panel at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
    }
  });

  it('filters every query by $id and $world, uses the datasource variable and a {{id}} legend', () => {
    expect(targets.length).toBeGreaterThan(0);
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual(DS);
      expect(p.targets?.length, `${p.title} has queries`).toBeGreaterThan(0);
    }
    for (const t of targets) {
      expect(t.datasource, t.panel).toEqual(DS);
      expect(t.legendFormat, t.panel).toContain('{{id}}');
      const sel = selectors(t.expr);
      expect(sel.length, `${t.panel}: ${t.expr}`).toBeGreaterThan(0);
      for (const s of sel) {
        expect(s.matchers, `${t.panel}: ${s.metric}`).toContain('id=~"$id"');
        expect(s.matchers, `${t.panel}: ${s.metric}`).toContain('world=~"$world"');
      }
      // No metric queried without the filters: every metric name in the expression is a selector above.
      const names = [...t.expr.matchAll(/\b(keel_\w+|process_\w+|nodejs_\w+)\b/g)].map((m) => m[1]);
      expect(names, `${t.panel}: ${t.expr}`).toEqual(sel.map((s) => s.metric));
      // Brackets balance.
      const depth = { '(': 0, '[': 0, '{': 0 } as Record<string, number>;
      const close: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
      for (const c of t.expr) {
        if (c in depth) depth[c]!++;
        else if (c in close) expect(--depth[close[c]!]!, `${t.panel}: ${t.expr}`).toBeGreaterThanOrEqual(0);
      }
      expect(Object.values(depth), `${t.panel}: ${t.expr}`).toEqual([0, 0, 0]);
    }
    const queried = new Set(targets.flatMap((t) => selectors(t.expr).map((s) => s.metric)));
    for (const m of [
      'keel_ticks_total',
      'keel_tick_duration_seconds_bucket',
      'keel_tick_overruns_total',
      'keel_ticks_dropped_total',
      'keel_tick_lateness_p99_seconds',
      'keel_last_tick_age_seconds',
      'keel_loop_stalled',
      'keel_players',
      'keel_entities',
      'keel_network_received_bytes_total',
      'keel_network_sent_bytes_total',
      'keel_scene_reloads_total',
      'keel_script_errors_total',
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(queried.has(m), `the dashboard charts ${m}`).toBe(true);
    }
  });

  it('queries only metrics that a running server serves, each labelled id and world', async () => {
    const [port, healthPort] = [await freePort(), await freePort()];
    const keel = startKeel(['serve', 'scenes/arena.json', '--port', String(port), '--health-port', String(healthPort), '--host', '127.0.0.1', '--id', 'Dash-1', '--no-watch'], {
      env: { SERVER_LOG_FORMAT: 'json' },
    });
    await keel.waitForRecord((r) => typeof r.msg === 'string' && r.msg.startsWith('Listening on'), 15_000);
    const res = await fetch(`http://127.0.0.1:${healthPort}/metrics`, { signal: AbortSignal.timeout(5000) });
    expect(res.status).toBe(200);
    const text = await res.text();
    const served = new Map<string, string>();
    for (const line of text.split('\n')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s/.exec(line);
      if (m && !served.has(m[1]!)) served.set(m[1]!, m[2] ?? '');
    }
    for (const metric of new Set(targets.flatMap((t) => selectors(t.expr).map((s) => s.metric)))) {
      expect(served.has(metric), `${metric} is served on /metrics`).toBe(true);
      expect(served.get(metric), `${metric} labels`).toContain('id="Dash-1"');
      expect(served.get(metric), `${metric} labels`).toContain('world="arena"');
    }
    expect((await keel.stop('SIGTERM')).code).toBe(0);
  });
});
