/**
 * "Attach to server": the toolbar button, the attach dialog (admin URL and token) and the Live
 * panel, a read-only view of a running `keel serve` over the admin channel: entities with
 * position, velocity and sleep state, the selected entity's components, script errors, and
 * Pause / Step / Resume of the server's loop. Nothing here edits the scene document.
 */
import { useState } from 'preact/hooks';
import type { AdminEntity } from '../../runtime/core/index.js';
import { LIVE_HZ, type LiveStore } from './live-store.js';

const fmt = (n: number) => (Math.abs(n) < 0.0005 ? '0.000' : n.toFixed(3));
/** Indented JSON with short arrays of scalars kept on one line (positions, sizes, colours). */
const compactJson = (v: unknown) => JSON.stringify(v, null, 1).replace(/\[\s*([^[\]{}]*?)\s*\]/g, (_m, inner: string) => `[${inner.replace(/\s*\n\s*/g, ' ')}]`);
const vec = (v: readonly number[] | undefined) => (v ? v.map(fmt).join(', ') : '–');

/** The toolbar's Attach / Live button. */
export function LiveButton({ live }: { live: LiveStore }) {
  const status = live.status.value;
  return (
    <button
      class={`live-attach${status === 'attached' ? ' on' : ''}`}
      data-action="attach"
      title={status === 'attached' ? `Attached to ${live.info.value?.url ?? ''}` : 'Attach to a running server (admin channel)'}
      onClick={() => {
        if (status !== 'attached') {
          live.problem.value = null;
          live.dialogOpen.value = true;
        }
      }}
    >
      {status === 'attached' ? '● Live' : 'Attach…'}
    </button>
  );
}

/**
 * The attach dialog: "this dev server's instance" (handed over by `npm start`, no typing), a
 * fleet picker (instances listed from a `keel fleet` status listener), or any URL (remembered)
 * and token (never stored).
 */
export function LiveDialog({ live }: { live: LiveStore }) {
  const [url, setUrl] = useState(() => live.lastUrl);
  const [token, setToken] = useState('');
  const [fleetUrl, setFleetUrl] = useState(() => live.lastFleetUrl);
  if (!live.dialogOpen.value) return null;
  const dev = live.devServer;
  const fleet = live.fleet.value;
  const connecting = live.status.value === 'connecting';
  const submit = (e: Event) => {
    e.preventDefault();
    void live.attach(url.trim(), token);
  };
  const problem = live.problem.value;
  return (
    <div class="dialog-backdrop" onKeyDown={(e) => e.key === 'Escape' && !connecting && (live.dialogOpen.value = false)}>
      <form class="dialog live-dialog" aria-modal="true" aria-label="Attach to a running server" data-dialog="attach" onSubmit={submit}>
        <h2>Attach to a running server</h2>
        <p>
          The admin channel of <code>keel serve --admin-port P</code>. The view is read-only; the token is not stored.
        </p>
        {dev && (
          <div class="live-dev">
            <button type="button" class="primary" data-action="attach-dev" disabled={connecting} onClick={() => void live.attachDevServer()}>
              This dev server’s instance
            </button>{' '}
            <code>{dev.url}</code>
          </div>
        )}
        <div class="live-fleet">
          <label>
            Fleet status URL
            <span class="row">
              <input name="fleet" value={fleetUrl} placeholder="http://127.0.0.1:9000" onInput={(e) => setFleetUrl((e.target as HTMLInputElement).value)} />
              <button type="button" data-action="list-fleet" onClick={() => void live.listFleet(fleetUrl.trim())}>
                List
              </button>
            </span>
          </label>
          {live.fleetProblem.value && <p class="live-problem">{live.fleetProblem.value}</p>}
          {fleet.length > 0 && (
            <ul class="live-fleet-list">
              {fleet.map((m) => (
                <li key={m.id} data-fleet-instance={m.id}>
                  <b>{m.id}</b> :{m.port} {m.health}
                  {m.players !== null ? ` · ${m.players} players` : ''}{' '}
                  {m.adminUrl ? (
                    <button type="button" class="small" data-action="pick-instance" disabled={connecting} title={`Attach to ${m.adminUrl} with the token below`} onClick={() => {
                      setUrl(m.adminUrl!);
                      void live.attach(m.adminUrl!, token);
                    }}>
                      Attach {m.adminUrl}
                    </button>
                  ) : (
                    <i>no admin port</i>
                  )}
                </li>
              ))}
            </ul>
          )}
        </div>
        <label>
          Admin URL
          <input name="url" value={url} placeholder="ws://127.0.0.1:7780" onInput={(e) => setUrl((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Token
          <input name="token" type="password" autoComplete="off" value={token} onInput={(e) => setToken((e.target as HTMLInputElement).value)} />
        </label>
        {problem && (
          <p class="live-problem" role="alert">
            {problem}
          </p>
        )}
        <div class="actions">
          <button type="button" disabled={connecting} onClick={() => (live.dialogOpen.value = false)}>
            Cancel
          </button>
          <button type="submit" class="primary" data-action="connect" disabled={connecting}>
            {connecting ? 'Connecting…' : 'Attach'}
          </button>
        </div>
      </form>
    </div>
  );
}

/** The Live panel, over the viewport while attached. */
export function LivePanel({ live }: { live: LiveStore }) {
  if (live.status.value !== 'attached') return null;
  const info = live.info.value!;
  const paused = live.paused.value;
  const entities = live.entities.value;
  const selectedId = live.selected.value;
  const selected = selectedId === null ? undefined : entities.find((e) => e.id === selectedId);
  const errors = live.errors.value;
  const collapsed = live.collapsed.value;
  return (
    <section class={`live-panel${collapsed ? ' collapsed' : ''}`} data-live-paused={paused ? 'true' : 'false'} data-live-tick={live.tick.value} data-live-frames={live.frames.value}>
      <header class="live-head">
        <span class="live-badge">LIVE · read-only</span>
        <span class="live-where" title={`instance ${info.instance}, world ${info.world}`}>
          {info.scene} @ {info.url}
        </span>
        <label class="live-show" title="Draw the running server's world, with bodies, contacts and sleeping bodies dimmed, over the scene">
          <input type="checkbox" data-action="show-live-world" checked={live.showWorld.value} onChange={(e) => (live.showWorld.value = (e.target as HTMLInputElement).checked)} /> show live world
        </label>
        <button class="small" data-action="live-collapse" title={collapsed ? 'Show the entity list' : 'Fold the panel to work in the viewport'} onClick={() => (live.collapsed.value = !collapsed)}>
          {collapsed ? '▾' : '▴'}
        </button>
        <button class="small" data-action="detach" onClick={() => live.detach()}>
          Detach
        </button>
      </header>
      <div class="live-loop">
        <span class="live-tick" data-tick={live.tick.value}>
          tick {live.tick.value}
        </span>
        <span class={`live-state${paused ? ' paused' : ''}`}>{paused ? 'paused' : `running ${info.tickRate} Hz`}</span>
        <button class="small" data-action="live-pause" disabled={paused} onClick={() => live.pause()}>
          Pause
        </button>
        <button class="small" data-action="live-step" disabled={!paused} title="Run exactly one tick" onClick={() => live.step(1)}>
          Step
        </button>
        <button class="small" data-action="live-resume" disabled={!paused} onClick={() => live.resume()}>
          Resume
        </button>
      </div>
      {live.problem.value && <div class="live-problem">{live.problem.value}</div>}
      {!collapsed && (
        <>
          <div class="live-entities">
            <table>
              <thead>
                <tr>
                  <th>id</th>
                  <th>position</th>
                  <th>velocity</th>
                  <th title="sleeping">zz</th>
                </tr>
              </thead>
              <tbody>
                {entities.map((e) => (
                  <EntityRow key={e.id} e={e} selected={e.id === selectedId} onSelect={() => (live.selected.value = e.id === selectedId ? null : e.id)} />
                ))}
              </tbody>
            </table>
            {entities.length === 0 && <div class="live-empty">Waiting for the first frame ({LIVE_HZ} Hz)…</div>}
          </div>
          {selected && (
            <div class="live-components" data-live-selected={selected.id}>
              <h4>
                {selected.id}
                {selected.name && selected.name !== selected.id ? ` · ${selected.name}` : ''}
                {selected.parent ? ` (in ${selected.parent})` : ''}
              </h4>
              <pre>{compactJson(selected.components ?? {})}</pre>
            </div>
          )}
          <div class="live-errors">
            <h4>Script errors ({errors.length})</h4>
            <ul>
              {errors
                .slice(-20)
                .reverse()
                .map((er, i) => (
                  <li key={`${er.tick}-${i}`} data-error-entity={er.entity}>
                    <b>{er.entity}</b> <code>{er.file ?? er.script}{er.line !== null ? `:${er.line}` : ''}</code> {er.hook} at tick {er.tick}: {er.message}
                  </li>
                ))}
            </ul>
          </div>
        </>
      )}
    </section>
  );
}

function EntityRow({ e, selected, onSelect }: { e: AdminEntity; selected: boolean; onSelect: () => void }) {
  return (
    <tr class={selected ? 'selected' : ''} data-live-entity={e.id} data-sleeping={e.sleeping === undefined ? '' : String(e.sleeping)} onClick={onSelect}>
      <td class="id">{e.id}</td>
      <td>{vec(e.position)}</td>
      <td>{vec(e.velocity)}</td>
      <td>{e.sleeping === undefined ? '' : e.sleeping ? 'zz' : '·'}</td>
    </tr>
  );
}
