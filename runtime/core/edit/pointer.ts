/**
 * RFC 6901 JSON pointers and copy-on-write updates through them. Every update copies only the
 * objects and arrays on the path to the change; everything else is shared with the input, so
 * an unchanged entity or component keeps its identity across edits.
 */

/** Splits a pointer into its unescaped tokens ('' is the whole value). */
export function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw new Error(`"${pointer}" is not a JSON pointer (it must start with /)`);
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** Joins tokens into a pointer, escaping `~` and `/`. */
export function formatPointer(tokens: readonly (string | number)[]): string {
  return tokens.map((t) => `/${String(t).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** The value at `tokens`, or undefined when any step is missing. */
export function getIn(value: unknown, tokens: readonly string[]): unknown {
  let cur = value;
  for (const t of tokens) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(t, cur.length, false);
      if (i === null || i >= cur.length) return undefined;
      cur = cur[i];
    } else if (isObject(cur)) {
      if (!Object.hasOwn(cur, t)) return undefined;
      cur = cur[t];
    } else return undefined;
  }
  return cur;
}

/** What a change through a pointer did: the new root, and the old value when there was one. */
export interface PointerChange {
  root: unknown;
  existed: boolean;
  old: unknown;
  /** For arrays, the index actually changed (a `-` token resolved). */
  index?: number;
}

/**
 * Sets the value at `tokens`: an object key is created or replaced; an array index is replaced,
 * or appended when it equals the length (or is `-`). The container must exist.
 */
export function setIn(root: unknown, tokens: readonly string[], value: unknown): PointerChange {
  return update(root, tokens, 0, (container, last) => {
    if (Array.isArray(container)) {
      const i = arrayIndex(last, container.length, true);
      if (i === null) throw new Error(`"${last}" is not an index of an array of ${container.length}`);
      const next = container.slice();
      const existed = i < container.length;
      const old = existed ? container[i] : undefined;
      next[i] = value;
      return { node: next, existed, old, index: i };
    }
    const existed = Object.hasOwn(container, last);
    return { node: { ...container, [last]: value }, existed, old: existed ? container[last] : undefined };
  });
}

/** Inserts `value` into the array holding the last token, before that index (`-` or the length appends). */
export function insertIn(root: unknown, tokens: readonly string[], value: unknown): PointerChange {
  return update(root, tokens, 0, (container, last) => {
    if (!Array.isArray(container)) throw new Error('insert needs an array');
    const i = arrayIndex(last, container.length, true);
    if (i === null) throw new Error(`"${last}" is not an index of an array of ${container.length}`);
    const next = container.slice();
    next.splice(i, 0, value);
    return { node: next, existed: false, old: undefined, index: i };
  });
}

/** Deletes an object key or removes an array element; a missing key changes nothing. */
export function unsetIn(root: unknown, tokens: readonly string[]): PointerChange {
  if (getIn(root, tokens.slice(0, -1)) === undefined || getIn(root, tokens) === undefined) {
    return { root, existed: false, old: undefined };
  }
  return update(root, tokens, 0, (container, last) => {
    if (Array.isArray(container)) {
      const i = arrayIndex(last, container.length, false)!;
      const next = container.slice();
      const [old] = next.splice(i, 1);
      return { node: next, existed: true, old, index: i };
    }
    const { [last]: old, ...rest } = container;
    return { node: rest, existed: true, old };
  });
}

type Leaf = (container: Record<string, unknown> | unknown[], last: string) => { node: unknown; existed: boolean; old: unknown; index?: number };

function update(node: unknown, tokens: readonly string[], depth: number, leaf: Leaf): PointerChange {
  if (tokens.length === 0) throw new Error('the whole value cannot be changed through a pointer');
  const where = () => formatPointer(tokens.slice(0, depth)) || '/';
  if (!Array.isArray(node) && !isObject(node)) throw new Error(`${where()} is not an object or array`);
  const t = tokens[depth]!;
  if (depth === tokens.length - 1) {
    const r = leaf(node, t);
    return { root: r.node, existed: r.existed, old: r.old, ...(r.index !== undefined ? { index: r.index } : {}) };
  }
  let child: unknown;
  if (Array.isArray(node)) {
    const i = arrayIndex(t, node.length, false);
    if (i === null || i >= node.length) throw new Error(`${formatPointer(tokens.slice(0, depth + 1))} does not exist`);
    child = node[i];
    const r = update(child, tokens, depth + 1, leaf);
    const copy = node.slice();
    copy[i] = r.root;
    return { ...r, root: copy };
  }
  if (!Object.hasOwn(node, t)) throw new Error(`${formatPointer(tokens.slice(0, depth + 1))} does not exist`);
  const r = update(node[t], tokens, depth + 1, leaf);
  return { ...r, root: { ...node, [t]: r.root } };
}

function arrayIndex(token: string, length: number, allowEnd: boolean): number | null {
  if (token === '-') return allowEnd ? length : null;
  if (!/^(0|[1-9]\d*)$/.test(token)) return null;
  const i = Number(token);
  return i < length || (allowEnd && i === length) ? i : null;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep equality of JSON values (key order ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  const isArray = Array.isArray(a);
  if (isArray !== Array.isArray(b)) return false;
  if (isArray) {
    const x = a as unknown[];
    const y = b as unknown[];
    if (x.length !== y.length) return false;
    for (let i = 0; i < x.length; i++) if (!sameJson(x[i], y[i])) return false;
    return true;
  }
  // Plain JSON objects (no inherited keys): counted in place, without building key arrays, since
  // a reload compares every entity of the scene this way.
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let keys = 0;
  for (const k in x) {
    const v = x[k];
    if (v === undefined) continue;
    if (!sameJson(v, y[k])) return false;
    keys++;
  }
  for (const k in y) if (y[k] !== undefined) keys--;
  return keys === 0;
}
