import type { SceneProblem } from '../../core/index.js';
import type { SessionStatus } from '../app/play-session.js';

const STATE_LABEL: Record<SessionStatus['state'], string> = {
  local: 'Local',
  idle: 'Connecting',
  connecting: 'Connecting',
  connected: 'Connected',
  reconnecting: 'Reconnecting',
  refused: 'Refused',
  closed: 'Disconnected',
};

/**
 * The page's heads-up display in plain DOM: a status panel (connection state, ping, server
 * tick, players, fps), a banner for refusals and reconnects, a "click to play" hint, a mute
 * toggle and an overlay for errors that stop the page. Fixed sizes and tabular figures keep it
 * from jumping as numbers change.
 */
export class Hud {
  readonly root: HTMLElement;
  private readonly fields: Record<'state' | 'ping' | 'tick' | 'players' | 'fps' | 'scene', HTMLElement>;
  private readonly banner: HTMLElement;
  private readonly hint: HTMLElement;
  private readonly overlay: HTMLElement;
  readonly muteButton: HTMLButtonElement;
  private last = '';

  constructor(parent: HTMLElement) {
    this.root = el('div', 'keel-hud');
    const panel = el('div', 'keel-panel');
    const row = (label: string, cls = '') => {
      const r = el('div', `keel-row ${cls}`);
      r.append(el('span', 'keel-label', label));
      const v = el('span', 'keel-value');
      r.append(v);
      panel.append(r);
      return v;
    };
    const title = el('div', 'keel-title');
    const dot = el('span', 'keel-dot');
    const stateText = el('span', 'keel-state');
    title.append(dot, stateText);
    panel.append(title);
    this.fields = { state: title, scene: row('Scene'), ping: row('Ping'), tick: row('Tick'), players: row('Players'), fps: row('FPS') };
    this.banner = el('div', 'keel-banner');
    this.banner.hidden = true;
    this.banner.setAttribute('role', 'status');
    this.hint = el('div', 'keel-hint');
    this.hint.innerHTML = '<strong>Click to play</strong><span>WASD / arrows move · Space jumps · mouse looks · Esc frees the mouse</span>';
    this.muteButton = el('button', 'keel-mute', 'Sound on') as HTMLButtonElement;
    this.muteButton.type = 'button';
    this.muteButton.title = 'Mute or unmute sounds (M)';
    this.overlay = el('div', 'keel-overlay');
    this.overlay.hidden = true;
    this.overlay.setAttribute('role', 'alert');
    this.root.append(panel, this.banner, this.hint, this.muteButton);
    parent.append(this.root, this.overlay);
  }

  /** Updates the panel; cheap when nothing changed. */
  update(s: SessionStatus, scene: string, fps: number): void {
    const key = `${s.state}|${s.tick}|${s.players}|${s.pingMs}|${Math.round(fps)}|${scene}`;
    if (key === this.last) return;
    this.last = key;
    this.fields.state.dataset.state = s.state;
    (this.fields.state.lastChild as HTMLElement).textContent = STATE_LABEL[s.state];
    this.fields.scene.textContent = scene;
    this.fields.ping.textContent = s.pingMs === null ? '–' : `${Math.round(s.pingMs)} ms`;
    this.fields.tick.textContent = String(s.tick);
    this.fields.players.textContent = String(s.players);
    this.fields.fps.textContent = String(Math.round(fps));
  }

  /** Shows a message across the top (`kind` colours it); null hides it. */
  setBanner(text: string | null, kind: 'info' | 'warn' | 'error' = 'info'): void {
    if (text === null) {
      this.banner.hidden = true;
      return;
    }
    this.banner.hidden = false;
    this.banner.dataset.kind = kind;
    if (this.banner.textContent !== text) this.banner.textContent = text;
  }

  setHintVisible(visible: boolean): void {
    this.hint.hidden = !visible;
  }

  setMuted(muted: boolean): void {
    this.muteButton.textContent = muted ? 'Sound off' : 'Sound on';
    this.muteButton.setAttribute('aria-pressed', String(muted));
  }

  /** Shows a blocking error: a title, an explanation and, for scene problems, every file and pointer. */
  showError(title: string, detail: string, problems: readonly SceneProblem[] = []): void {
    this.overlay.replaceChildren();
    const box = el('div', 'keel-error');
    box.append(el('h1', '', title), el('p', '', detail));
    if (problems.length > 0) {
      const list = el('ul', 'keel-problems');
      for (const p of problems) {
        const li = el('li');
        li.append(el('code', 'keel-file', p.file), el('code', 'keel-pointer', p.pointer === '' ? '/' : p.pointer), el('span', 'keel-message', p.message));
        list.append(li);
      }
      box.append(list);
    }
    this.overlay.append(box);
    this.overlay.hidden = false;
    this.root.hidden = true;
  }

  hideError(): void {
    this.overlay.hidden = true;
    this.root.hidden = false;
  }
}

function el(tag: string, cls = '', text?: string): HTMLElement {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}
