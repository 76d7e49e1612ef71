/**
 * The hierarchy: the entity tree by `parent`, in document order. Click selects (Shift/Ctrl
 * adds), F2 or double-click renames, dragging a row onto another reparents it (keeping its world
 * pose) or, near a row's top or bottom edge, reorders it. The filter matches name, id, tag or
 * component name. Every row carries `data-entity-id`.
 */
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { EntityDocument } from '../../runtime/core/index.js';
import { reparent } from './commands.js';
import type { EditorStore } from './store.js';

/** Height of a row in pixels (the stylesheet's `.tree .row`). */
const ROW_HEIGHT = 22;
/** Rows rendered beyond the visible ones on each side. */
const OVERSCAN = 30;

interface Row {
  e: EntityDocument;
  depth: number;
  hasChildren: boolean;
}

function icon(e: EntityDocument): string {
  const c = e.components;
  if (c.light) return '☀';
  if (c.camera) return '◉';
  if (c.spawnPoint) return '⚑';
  if (c.script) return '⚙';
  if (c.mesh) return '■';
  if (c.collider) return '▢';
  return '○';
}

export function matches(e: EntityDocument, q: string): boolean {
  const s = q.toLowerCase();
  return (
    e.id.toLowerCase().includes(s) ||
    (e.name ?? '').toLowerCase().includes(s) ||
    (e.tags ?? []).some((t) => t.toLowerCase().includes(s)) ||
    Object.keys(e.components).some((c) => c.toLowerCase() === s || c.toLowerCase().startsWith(s))
  );
}

export function Hierarchy({ store, onRenameRequest }: { store: EditorStore; onRenameRequest?: (fn: () => void) => void }) {
  const doc = store.doc.value;
  const selection = store.selection.value;
  const selected = new Set(selection);
  const [filter, setFilter] = useState('');
  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(new Set());
  const [renaming, setRenaming] = useState<string | null>(null);
  const [dropAt, setDropAt] = useState<{ id: string; zone: 'before' | 'into' | 'after' } | null>(null);

  const rows = useMemo(() => {
    const kids = new Map<string | null, EntityDocument[]>();
    const ids = new Set(doc.entities.map((e) => e.id));
    for (const e of doc.entities) {
      const p = e.parent && ids.has(e.parent) ? e.parent : null;
      (kids.get(p) ?? kids.set(p, []).get(p)!).push(e);
    }
    const visible = filter ? new Set<string>() : null;
    if (visible) {
      const byId = new Map(doc.entities.map((e) => [e.id, e]));
      for (const e of doc.entities) {
        if (!matches(e, filter)) continue;
        for (let cur: EntityDocument | undefined = e, n = 0; cur && n < 10000; cur = cur.parent ? byId.get(cur.parent) : undefined, n++) visible.add(cur.id);
      }
    }
    const out: Row[] = [];
    const walk = (parent: string | null, depth: number) => {
      for (const e of kids.get(parent) ?? []) {
        if (visible && !visible.has(e.id)) continue;
        const hasChildren = (kids.get(e.id)?.length ?? 0) > 0;
        out.push({ e, depth, hasChildren });
        if (hasChildren && (visible || !collapsed.has(e.id)) && depth < 64) walk(e.id, depth + 1);
      }
    };
    walk(null, 0);
    return out;
  }, [doc, filter, collapsed]);

  const click = (id: string, ev: MouseEvent) => {
    if (ev.shiftKey && selection.length > 0) {
      // Shift: the range from the last selected row to this one, added.
      const last = selection[selection.length - 1]!;
      const a = rows.findIndex((r) => r.e.id === last);
      const b = rows.findIndex((r) => r.e.id === id);
      if (a >= 0 && b >= 0) {
        const range = rows.slice(Math.min(a, b), Math.max(a, b) + 1).map((r) => r.e.id);
        store.select([...selection, ...range.filter((r) => !selected.has(r))]);
        return;
      }
    }
    if (ev.ctrlKey || ev.metaKey) store.select(selected.has(id) ? selection.filter((s) => s !== id) : [...selection, id]);
    else store.select([id]);
  };

  // Enter commits, and the blur that follows must not commit a second time.
  const renameDone = useRef(false);
  const commitRename = (id: string, name: string) => {
    if (renameDone.current) return;
    renameDone.current = true;
    setRenaming(null);
    const e = doc.entities.find((x) => x.id === id);
    if (!e || (e.name ?? '') === name) return;
    store.apply({ op: 'set', entity: id, path: '/name', value: name }, `Rename ${id}`);
    store.history.seal();
  };
  const startRename = (id: string) => {
    renameDone.current = false;
    setRenaming(id);
  };
  onRenameRequest?.(() => selection.length === 1 && startRename(selection[0]!));
  // Only the rows in view (plus a margin) are rendered: a large scene scrolls, it does not stall.
  const treeRef = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 600 });
  useEffect(() => {
    const el = treeRef.current;
    if (!el) return;
    const measure = () => setView({ top: el.scrollTop, height: el.clientHeight || 600 });
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    measure();
    return () => ro.disconnect();
  }, []);
  const first = Math.max(0, Math.floor(view.top / ROW_HEIGHT) - OVERSCAN);
  const last = Math.min(rows.length, Math.ceil((view.top + view.height) / ROW_HEIGHT) + OVERSCAN);
  const lastSelected = selection[selection.length - 1];
  useEffect(() => {
    const el = treeRef.current;
    const i = lastSelected ? rows.findIndex((r) => r.e.id === lastSelected) : -1;
    if (!el || i < 0) return;
    const y = i * ROW_HEIGHT;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW_HEIGHT > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW_HEIGHT - el.clientHeight;
  }, [lastSelected]);

  const zoneOf = (ev: DragEvent): 'before' | 'into' | 'after' => {
    const r = (ev.currentTarget as HTMLElement).getBoundingClientRect();
    const y = (ev.clientY - r.top) / r.height;
    return y < 0.25 ? 'before' : y > 0.75 ? 'after' : 'into';
  };
  const drop = (target: EntityDocument, zone: 'before' | 'into' | 'after', dragged: string) => {
    if (dragged === target.id) return;
    if (zone === 'into') return reparent(store, dragged, target.id, null);
    const list = doc.entities;
    const i = list.findIndex((e) => e.id === target.id);
    const before = zone === 'before' ? target.id : (list.slice(i + 1).find((e) => e.id !== dragged)?.id ?? null);
    reparent(store, dragged, target.parent ?? null, before);
  };

  return (
    <div class="hierarchy">
      <div class="panel-tools">
        <input class="filter" type="search" placeholder="Filter: name, id, tag, component" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
      </div>
      <div
        class="tree"
        ref={treeRef}
        onScroll={(e) => setView({ top: (e.currentTarget as HTMLElement).scrollTop, height: (e.currentTarget as HTMLElement).clientHeight })}
        role="tree"
        onDragOver={(e) => e.preventDefault()}
        onDrop={(e) => {
          const id = e.dataTransfer?.getData('text/x-keel-entity');
          if (id && e.target === e.currentTarget) reparent(store, id, null, null);
        }}
      >
        <div style={{ height: `${first * ROW_HEIGHT}px` }} />
        {rows.slice(first, last).map(({ e, depth, hasChildren }) => (
          <div
            key={e.id}
            role="treeitem"
            aria-selected={selected.has(e.id)}
            class={`row${selected.has(e.id) ? ' selected' : ''}${dropAt?.id === e.id ? ` drop-${dropAt.zone}` : ''}`}
            data-entity-id={e.id}
            style={{ paddingLeft: `${6 + depth * 14}px` }}
            draggable={renaming !== e.id}
            onClick={(ev) => click(e.id, ev)}
            onDblClick={() => startRename(e.id)}
            onDragStart={(ev) => {
              ev.dataTransfer?.setData('text/x-keel-entity', e.id);
              if (ev.dataTransfer) ev.dataTransfer.effectAllowed = 'move';
            }}
            onDragOver={(ev) => {
              ev.preventDefault();
              const zone = zoneOf(ev);
              if (dropAt?.id !== e.id || dropAt.zone !== zone) setDropAt({ id: e.id, zone });
            }}
            onDragLeave={() => setDropAt(null)}
            onDrop={(ev) => {
              ev.preventDefault();
              ev.stopPropagation();
              setDropAt(null);
              const id = ev.dataTransfer?.getData('text/x-keel-entity');
              if (id) drop(e, zoneOf(ev), id);
            }}
          >
            <span
              class={`twisty${hasChildren ? '' : ' none'}`}
              onClick={(ev) => {
                ev.stopPropagation();
                const next = new Set(collapsed);
                if (next.has(e.id)) next.delete(e.id);
                else next.add(e.id);
                setCollapsed(next);
              }}
            >
              {hasChildren ? (collapsed.has(e.id) && !filter ? '▸' : '▾') : ''}
            </span>
            <span class="icon">{icon(e)}</span>
            {renaming === e.id ? (
              <input
                class="rename"
                value={e.name ?? e.id}
                ref={(el) => {
                  if (el && document.activeElement !== el) {
                    el.focus();
                    el.select();
                  }
                }}
                onClick={(ev) => ev.stopPropagation()}
                onKeyDown={(ev) => {
                  ev.stopPropagation();
                  if (ev.key === 'Enter') commitRename(e.id, (ev.target as HTMLInputElement).value);
                  if (ev.key === 'Escape') {
                    renameDone.current = true;
                    setRenaming(null);
                  }
                }}
                onBlur={(ev) => commitRename(e.id, (ev.target as HTMLInputElement).value)}
              />
            ) : (
              <span class="name">{e.name ?? e.id}</span>
            )}
            {e.name && e.name !== e.id && renaming !== e.id && <span class="id">{e.id}</span>}
          </div>
        ))}
        <div style={{ height: `${(rows.length - last) * ROW_HEIGHT}px` }} />
      </div>
    </div>
  );
}
