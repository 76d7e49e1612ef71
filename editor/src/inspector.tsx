/**
 * The inspector: the fields of the selected entities' components, drawn from the core's
 * inspector model (runtime/core/edit/inspector.ts), which reads the scene schema: a field or a
 * component added to the schema shows here with no editor code. Every control carries `data-pointer`, the JSON pointer of the
 * value it edits in the document. With several entities selected, an edit goes to all of them
 * as one step and fields that differ show as mixed.
 */
import { useState } from 'preact/hooks';
import type { JSX } from 'preact';
import { getIn, sameJson } from '../../runtime/core/edit/pointer.js';
import type { SceneEdit } from '../../runtime/core/edit/scene-edit.js';
import type { EntityDocument, SceneProblem } from '../../runtime/core/index.js';
import { componentDescriptors, defaultValue, fieldsOf, type ComponentDescriptor, type FieldDescriptor } from '../../runtime/core/edit/inspector.js';
import type { EditorStore } from './store.js';

interface Props {
  store: EditorStore;
  assets: readonly string[];
}

type Problem = Pick<SceneProblem, 'pointer' | 'message'>;

/** Every component of the scene schema, in schema order. */
const COMPONENTS: readonly ComponentDescriptor[] = componentDescriptors();
const BY_NAME: ReadonlyMap<string, ComponentDescriptor> = new Map(COMPONENTS.map((c) => [c.name, c]));
const componentNames: readonly string[] = COMPONENTS.map((c) => c.name);
/** Which files an asset or script picker lists, by `component.field`. */
const ASSET_ACCEPT: Readonly<Record<string, string[]>> = { 'script.module': ['.js', '.mjs'], 'mesh.asset': ['.glb'], 'collider.asset': ['.khf'] };

/** A component as it is now: its label, its tag (a tagged union's `shape`) and the fields its value shows. */
function componentModel(name: string, value: unknown): { label: string; tag?: { key: string; options: string[] }; fields: FieldDescriptor[] } | null {
  const c = BY_NAME.get(name);
  if (!c) return null;
  const f = c.field;
  const tag = f.kind === 'variant' && f.tag ? { key: f.tag, options: f.options ?? [] } : undefined;
  const fields = fieldsOf(f, value).filter((x) => x.key !== tag?.key);
  return { label: c.label, ...(tag ? { tag } : {}), fields };
}

/** The value a new component starts with: every default (optional fields too), the given or first variant. */
function newComponent(name: string, variant?: string): Record<string, unknown> {
  const c = BY_NAME.get(name);
  if (!c) return {};
  const value = defaultValue(c.field, variant) as Record<string, unknown>;
  for (const f of fieldsOf(c.field, value)) if (value[f.key] === undefined && f.default !== undefined) value[f.key] = structuredClone(f.default);
  return value;
}

export function Inspector({ store, assets }: Props) {
  const doc = store.doc.value;
  const sel = store.selection.value;
  // The server's verdict on the last save, and the page's own check: each problem once.
  const seen = new Set<string>();
  const problems: Problem[] = [...store.problems.value, ...store.serverProblems.value].filter((p) => {
    const key = `${p.pointer}\u0000${p.message}`;
    return seen.has(key) ? false : (seen.add(key), true);
  });
  const indexOf = new Map(doc.entities.map((e, i) => [e.id, i]));
  const entities = sel.map((id) => doc.entities[indexOf.get(id) ?? -1]).filter((e): e is EntityDocument => e !== undefined);
  if (entities.length === 0) {
    return (
      <div class="inspector empty">
        <p class="hint">Select an entity in the viewport or the hierarchy.</p>
        <ProblemList problems={problems} />
      </div>
    );
  }
  const first = entities[0]!;
  const base = `/entities/${indexOf.get(first.id)}`;
  const common = componentNames.filter((c) => entities.every((e) => (e.components as Record<string, unknown>)[c] !== undefined));
  const missing = componentNames.filter((c) => entities.every((e) => (e.components as Record<string, unknown>)[c] === undefined));

  /** Sets `path` (relative to each entity) on every selected entity as one step. */
  const setAll = (path: string, value: unknown | ((e: EntityDocument) => unknown)) => {
    const edits: SceneEdit[] = entities.map((e) => ({ op: 'set', entity: e.id, path, value: typeof value === 'function' ? (value as (e: EntityDocument) => unknown)(e) : value }));
    store.apply(edits.length === 1 ? edits[0]! : { op: 'batch', edits });
  };
  const valueOf = (path: string) => {
    const tokens = path.split('/').slice(1);
    const vals = entities.map((e) => getIn(e, tokens));
    return vals.every((v) => sameJson(v, vals[0])) ? { value: vals[0], mixed: false } : { value: vals[0], mixed: true };
  };
  const at = (path: string) => problems.filter((p) => p.pointer === `${base}${path}` || p.pointer.startsWith(`${base}${path}/`));

  return (
    <div class="inspector">
      <div class="inspector-head">
        {entities.length > 1 ? <div class="multi">{entities.length} entities selected</div> : <div class="entity-id" title="Stable id (used by edits, saves and the server)">{first.id}</div>}
        <Row label="Name">
          <TextInput pointer={`${base}/name`} {...valueOf('/name')} onCommit={(v) => setAll('/name', v)} onBlur={() => store.history.seal()} />
        </Row>
        <Row label="Tags">
          <TextInput
            pointer={`${base}/tags`}
            value={(valueOf('/tags').value as string[] | undefined)?.join(', ') ?? ''}
            mixed={valueOf('/tags').mixed}
            onCommit={(v) => setAll('/tags', v.split(',').map((t) => t.trim()).filter(Boolean))}
            onBlur={() => store.history.seal()}
          />
        </Row>
        <Problems list={at('/name').concat(at('/tags'), problems.filter((p) => p.pointer === base))} />
      </div>
      {common.map((name) => {
        const value = (first.components as Record<string, unknown>)[name];
        const model = componentModel(name, value)!;
        const cpath = `/components/${name}`;
        return (
          <section class="component" key={name} data-component={name}>
            <header>
              <span>{model.label}</span>
              <button class="icon" title={`Remove ${model.label}`} data-pointer={`${base}${cpath}`} onClick={() => store.apply({ op: 'batch', edits: entities.map((e) => ({ op: 'unset', entity: e.id, path: cpath }) as SceneEdit) }, `Remove ${name}`)}>
                ✕
              </button>
            </header>
            {model.tag && (
              <Row label={model.tag.key}>
                <select
                  data-pointer={`${base}${cpath}/${model.tag.key}`}
                  value={valueOf(`${cpath}/${model.tag.key}`).mixed ? '' : String(valueOf(`${cpath}/${model.tag.key}`).value)}
                  onChange={(ev) => {
                    const v = (ev.target as HTMLSelectElement).value;
                    setAll(cpath, (e: EntityDocument) => {
                      const old = (e.components as Record<string, Record<string, unknown>>)[name] ?? {};
                      const fresh = newComponent(name, v);
                      for (const k of Object.keys(fresh)) if (k !== model.tag!.key && old[k] !== undefined && k in fresh && typeof old[k] === typeof fresh[k]) fresh[k] = old[k];
                      return fresh;
                    });
                  }}
                >
                  {valueOf(`${cpath}/${model.tag.key}`).mixed && <option value="">—</option>}
                  {model.tag.options.map((o) => (
                    <option value={o} key={o}>
                      {o}
                    </option>
                  ))}
                </select>
              </Row>
            )}
            {model.fields.map((f) => (
              <Field key={f.key} component={name} field={f} pointer={`${base}${f.pointer}`} path={f.pointer} store={store} assets={assets} valueOf={valueOf} setAll={setAll} problems={at(f.pointer)} />
            ))}
            <Problems list={problems.filter((p) => p.pointer === `${base}${cpath}`)} />
          </section>
        );
      })}
      {missing.length > 0 && (
        <div class="add-component">
          <select
            data-pointer={`${base}/components`}
            value=""
            title="Add a component to every selected entity"
            onChange={(ev) => {
              const name = (ev.target as HTMLSelectElement).value;
              if (!name) return;
              (ev.target as HTMLSelectElement).value = '';
              store.apply({ op: 'batch', edits: entities.map((e) => ({ op: 'set', entity: e.id, path: `/components/${name}`, value: newComponent(name) }) as SceneEdit) }, `Add ${name}`);
            }}
          >
            <option value="">Add component…</option>
            {missing.map((c) => (
              <option value={c} key={c}>
                {c}
              </option>
            ))}
          </select>
        </div>
      )}
    </div>
  );
}

function Row({ label, children, title }: { label: string; children: JSX.Element | JSX.Element[]; title?: string }) {
  return (
    <label class="row" title={title}>
      <span class="label">{label}</span>
      <span class="control">{children}</span>
    </label>
  );
}

function Problems({ list }: { list: Problem[] }) {
  if (list.length === 0) return null;
  return (
    <ul class="problems">
      {list.map((p, i) => (
        <li key={i} data-problem-pointer={p.pointer}>
          {p.message}
        </li>
      ))}
    </ul>
  );
}

function ProblemList({ problems }: { problems: Problem[] }) {
  if (problems.length === 0) return null;
  return (
    <div class="scene-problems">
      <h4>Scene problems</h4>
      <ul class="problems">
        {problems.map((p, i) => (
          <li key={i} data-problem-pointer={p.pointer}>
            <code>{p.pointer || '/'}</code> {p.message}
          </li>
        ))}
      </ul>
    </div>
  );
}

function TextInput(props: { pointer: string; value: unknown; mixed?: boolean; onCommit: (v: string) => void; onBlur?: () => void; list?: string }) {
  return (
    <input
      type="text"
      data-pointer={props.pointer}
      class={props.mixed ? 'mixed' : ''}
      placeholder={props.mixed ? '—' : ''}
      value={props.mixed ? '' : String(props.value ?? '')}
      list={props.list}
      onInput={(e) => props.onCommit((e.target as HTMLInputElement).value)}
      onBlur={props.onBlur}
      spellcheck={false}
    />
  );
}

/** A number box: type (merges within a second), arrow keys, or drag its label (one step per drag). */
function NumberInput(props: { pointer: string; value: unknown; mixed: boolean; store: EditorStore; set: (v: number | ((old: number) => number)) => void; step?: number; min?: number; max?: number; label?: string }) {
  const { store } = props;
  const [text, setText] = useState<string | null>(null);
  const shown = text ?? (props.mixed ? '' : typeof props.value === 'number' ? String(props.value) : '');
  const clamp = (v: number) => Math.min(props.max ?? Infinity, Math.max(props.min ?? -Infinity, v));
  const startDrag = (e: PointerEvent) => {
    if (e.button !== 0) return;
    e.preventDefault();
    const target = e.currentTarget as HTMLElement;
    target.setPointerCapture(e.pointerId);
    const x0 = e.clientX;
    const step = props.step ?? 0.1;
    let started = false;
    let applied = 0;
    const move = (m: PointerEvent) => {
      const dx = m.clientX - x0;
      if (!started) {
        if (Math.abs(dx) < 2) return;
        started = true;
        store.begin(`Drag ${props.pointer.split('/').slice(-2).join(' ')}`);
        store.history.seal();
      }
      // Only the movement since the last event: each entity moves from its own value.
      const d = (dx - applied) * step;
      applied = dx;
      props.set((old) => clamp(Math.round((old + d) * 1000) / 1000));
    };
    const up = () => {
      target.removeEventListener('pointermove', move);
      target.removeEventListener('pointerup', up);
      if (started) store.end();
    };
    target.addEventListener('pointermove', move);
    target.addEventListener('pointerup', up);
  };
  return (
    <span class="number">
      {props.label && (
        <span class="drag-handle" title="Drag to change" onPointerDown={(e) => startDrag(e as unknown as PointerEvent)}>
          {props.label}
        </span>
      )}
      <input
        type="text"
        inputMode="decimal"
        data-pointer={props.pointer}
        class={props.mixed && text === null ? 'mixed' : ''}
        placeholder={props.mixed ? '—' : ''}
        value={shown}
        onInput={(e) => {
          const t = (e.target as HTMLInputElement).value;
          setText(t);
          const v = Number(t);
          if (t.trim() !== '' && Number.isFinite(v)) props.set(v);
        }}
        onKeyDown={(e) => {
          if (e.key !== 'ArrowUp' && e.key !== 'ArrowDown') return;
          e.preventDefault();
          const d = (e.key === 'ArrowUp' ? 1 : -1) * (props.step ?? 0.1) * (e.shiftKey ? 10 : 1);
          setText(null);
          props.set((old) => clamp(Math.round((old + d) * 1000) / 1000));
        }}
        onBlur={() => {
          setText(null);
          store.history.seal();
        }}
      />
    </span>
  );
}

interface FieldProps {
  component: string;
  field: FieldDescriptor;
  pointer: string;
  path: string;
  store: EditorStore;
  assets: readonly string[];
  valueOf: (path: string) => { value: unknown; mixed: boolean };
  setAll: (path: string, value: unknown | ((e: EntityDocument) => unknown)) => void;
  problems: Problem[];
}

function Field({ component, field: f, pointer, path, store, assets, valueOf, setAll, problems }: FieldProps) {
  const { value, mixed } = valueOf(path);
  const tokens = path.split('/').slice(1);
  const numberSetter = (p: string, t: string[]) => (v: number | ((old: number) => number)) =>
    setAll(p, (e: EntityDocument) => (typeof v === 'function' ? v(Number(getIn(e, t) ?? 0)) : v));
  let control: JSX.Element;
  // A number over [0, 1] is a slider with a box beside it.
  const kind = f.kind === 'number' && f.min === 0 && f.max === 1 ? 'unit' : f.kind;
  switch (kind) {
    case 'vector': {
      const items = f.items ?? [];
      control = (
        <span class={`vec vec${items.length}`}>
          {items.map((item, i) => {
            const sub = valueOf(`${path}/${i}`);
            return <NumberInput key={i} label={item.label} pointer={`${pointer}/${i}`} value={sub.value} mixed={sub.mixed} store={store} set={numberSetter(`${path}/${i}`, [...tokens, String(i)])} step={f.key === 'rotation' ? 1 : 0.05} />;
          })}
        </span>
      );
      break;
    }
    case 'unit':
      control = (
        <span class="slider">
          <input
            type="range"
            min={0}
            max={1}
            step={0.01}
            data-pointer={pointer}
            value={mixed ? 0.5 : Number(value ?? 0)}
            onPointerDown={() => store.begin(`Set ${f.key}`)}
            onPointerUp={() => store.end()}
            onInput={(e) => setAll(path, Number((e.target as HTMLInputElement).value))}
            onChange={() => store.history.inGesture && store.end()}
          />
          <NumberInput pointer={`${pointer}`} value={value} mixed={mixed} store={store} set={numberSetter(path, tokens)} step={0.01} min={0} max={1} />
        </span>
      );
      break;
    case 'number':
      control = <NumberInput label="↔" pointer={pointer} value={value} mixed={mixed} store={store} set={numberSetter(path, tokens)} step={f.integer ? 1 : 0.05} {...(f.min !== undefined ? { min: f.min } : {})} {...(f.max !== undefined ? { max: f.max } : {})} />;
      break;
    case 'boolean':
      control = <input type="checkbox" data-pointer={pointer} checked={!mixed && value === true} indeterminate={mixed} onChange={(e) => setAll(path, (e.target as HTMLInputElement).checked)} />;
      break;
    case 'color':
      control = (
        <span class="color">
          <input type="color" data-pointer={pointer} value={mixed ? '#000000' : String(value ?? '#000000')} onInput={(e) => setAll(path, (e.target as HTMLInputElement).value)} onChange={() => store.history.seal()} />
          <code>{mixed ? '—' : String(value)}</code>
        </span>
      );
      break;
    case 'enum':
      control = (
        <select data-pointer={pointer} value={mixed ? '' : String(value ?? '')} onChange={(e) => setAll(path, (e.target as HTMLSelectElement).value)}>
          {mixed && <option value="">—</option>}
          {f.options!.map((o) => (
            <option key={o} value={o}>
              {o}
            </option>
          ))}
        </select>
      );
      break;
    case 'flags':
      control = (
        <span class="multi-check">
          {f.options!.map((o) => (
            <label key={o}>
              <input
                type="checkbox"
                data-pointer={`${pointer}/${o}`}
                checked={Array.isArray(value) && value.includes(o)}
                onChange={(e) =>
                  setAll(path, (ent: EntityDocument) => {
                    const cur = (getIn(ent, tokens) as string[] | undefined) ?? [];
                    return (e.target as HTMLInputElement).checked ? [...new Set([...cur, o])] : cur.filter((x) => x !== o);
                  })
                }
              />
              {o}
            </label>
          ))}
        </span>
      );
      break;
    case 'asset':
    case 'script': {
      const accept = ASSET_ACCEPT[`${component}.${f.key}`] ?? (kind === 'script' ? ['.js', '.mjs'] : ['']);
      const listId = `assets-${accept.join('')}`;
      control = (
        <span class="asset">
          <TextInput pointer={pointer} value={value} mixed={mixed} list={listId} onCommit={(v) => setAll(path, v)} onBlur={() => store.history.seal()} />
          <datalist id={listId}>
            {assets
              .filter((a) => accept.some((x) => a.endsWith(x)))
              .map((a) => (
                <option key={a} value={a} />
              ))}
          </datalist>
        </span>
      );
      break;
    }
    case 'record':
      control = <RecordEditor pointer={pointer} value={(value as Record<string, unknown>) ?? {}} mixed={mixed} onChange={(v) => setAll(path, v)} />;
      break;
    case 'list':
    case 'object':
    case 'json':
      // Structured values the schema gives no finer control for: edited as JSON text.
      control = <JsonInput pointer={pointer} value={value} mixed={mixed} onCommit={(v) => setAll(path, v)} />;
      break;
    default:
      control = <TextInput pointer={pointer} value={value} mixed={mixed} onCommit={(v) => setAll(path, v)} onBlur={() => store.history.seal()} />;
  }
  return (
    <div class={`field kind-${f.kind}${problems.length > 0 ? ' invalid' : ''}`} title={f.description}>
      <span class="label">{f.label}</span>
      <span class="control">{control}</span>
      <Problems list={problems} />
    </div>
  );
}

/** A value edited as JSON: applied when the text parses. */
function JsonInput({ pointer, value, mixed, onCommit }: { pointer: string; value: unknown; mixed: boolean; onCommit: (v: unknown) => void }) {
  return (
    <input
      type="text"
      data-pointer={pointer}
      class={mixed ? 'mixed' : ''}
      placeholder={mixed ? '—' : ''}
      value={mixed || value === undefined ? '' : JSON.stringify(value)}
      onChange={(e) => {
        try {
          onCommit(JSON.parse((e.target as HTMLInputElement).value));
        } catch {
          // Not JSON yet: nothing is applied, the box keeps the text.
        }
      }}
      spellcheck={false}
    />
  );
}

/** Script props: one row per key, the value as JSON (a bare word is taken as a string). */
function RecordEditor({ pointer, value, mixed, onChange }: { pointer: string; value: Record<string, unknown>; mixed: boolean; onChange: (v: Record<string, unknown>) => void }) {
  const entries = Object.entries(value);
  const parse = (t: string): unknown => {
    try {
      return JSON.parse(t);
    } catch {
      return t;
    }
  };
  if (mixed) return <span class="hint">differs between the selected entities</span>;
  return (
    <span class="record">
      {entries.map(([k, v]) => (
        <span class="kv" key={k}>
          <input
            type="text"
            class="key"
            value={k}
            data-pointer={`${pointer}/${k}`}
            onChange={(e) => {
              const nk = (e.target as HTMLInputElement).value.trim();
              if (!nk || nk === k || nk in value) return;
              onChange(Object.fromEntries(entries.map(([kk, vv]) => [kk === k ? nk : kk, vv])));
            }}
          />
          <input type="text" class="val" value={JSON.stringify(v)} data-pointer={`${pointer}/${k}`} onChange={(e) => onChange({ ...value, [k]: parse((e.target as HTMLInputElement).value) })} />
          <button class="icon" title={`Remove ${k}`} onClick={() => onChange(Object.fromEntries(entries.filter(([kk]) => kk !== k)))}>
            ✕
          </button>
        </span>
      ))}
      <button
        class="small"
        onClick={() => {
          let k = 'key';
          for (let i = 2; k in value && i < 1000; i++) k = `key${i}`;
          onChange({ ...value, [k]: 0 });
        }}
      >
        + prop
      </button>
    </span>
  );
}
