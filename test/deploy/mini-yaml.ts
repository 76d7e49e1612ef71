/**
 * A YAML reader for the small subset deploy/compose.yaml and deploy/k8s/*.yaml are written in, so
 * the deploy tests read the real files without a YAML dependency:
 *
 * - block mappings (`key: value`, `key:` + an indented block) and block lists (`- scalar`,
 *   `-` + an indented block, and `- key: value` starting a mapping whose further keys line up
 *   under the first), indented with spaces; a list under a key may start at the key's column;
 * - flow lists of scalars (`["CMD", "node"]`);
 * - plain, "double-quoted" and 'single-quoted' scalars; plain ones are typed as YAML 1.2's core
 *   schema does (true/false, null, integers, floats), the rest are strings;
 * - comments (whole-line and after a value);
 * - `&anchor` on a block value, `*alias` as a value, and `<<: *alias` merge keys (keys the
 *   mapping sets itself win over merged ones, as in YAML's merge-key spec).
 *
 * - several documents separated by `---` lines, through parseYamlDocuments (parseYamlSubset reads
 *   exactly one).
 *
 * Anything else (flow mappings, block scalars `|` `>`, tags, multi-line plain scalars, tabs,
 * duplicate keys) throws with the line number, rather than being misread.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue };
export type YamlMap = { [key: string]: YamlValue };

interface Line {
  no: number;
  indent: number;
  text: string;
}

export class YamlSubsetError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.name = 'YamlSubsetError';
  }
}

/** Removes a comment outside quotes: `#` at the start or after whitespace. */
function stripComment(s: string, no: number): string {
  let quote: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === '\\' && quote === '"') i++;
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c === '#' && (i === 0 || s[i - 1] === ' ')) {
      return s.slice(0, i).trimEnd();
    }
  }
  if (quote) throw new YamlSubsetError(no, 'unterminated quoted string (multi-line scalars are not supported)');
  return s.trimEnd();
}

function toLines(text: string): Line[] {
  const out: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const no = i + 1;
    if (/^\s*\t/.test(raw)) throw new YamlSubsetError(no, 'tab in indentation');
    const body = stripComment(raw, no);
    if (body.trim() === '') return;
    if (body === '---' || body === '...' || body.startsWith('%')) throw new YamlSubsetError(no, 'document markers and directives are not supported');
    const indent = body.length - body.trimStart().length;
    out.push({ no, indent, text: body.trim() });
  });
  return out;
}

/** A plain or quoted scalar, typed like YAML 1.2's core schema. */
function scalar(src: string, no: number): string | number | boolean | null {
  const s = src.trim();
  if (s.startsWith('"')) {
    if (!s.endsWith('"') || s.length < 2) throw new YamlSubsetError(no, `bad double-quoted scalar ${s}`);
    try {
      return JSON.parse(s) as string;
    } catch {
      throw new YamlSubsetError(no, `unsupported escape in ${s}`);
    }
  }
  if (s.startsWith("'")) {
    if (!s.endsWith("'") || s.length < 2) throw new YamlSubsetError(no, `bad single-quoted scalar ${s}`);
    const inner = s.slice(1, -1);
    if (/'(?!')/.test(inner.replace(/''/g, ''))) throw new YamlSubsetError(no, `bad single-quoted scalar ${s}`);
    return inner.replace(/''/g, "'");
  }
  if (s === '' || /^[{[|>!%@`&*]/.test(s) || /: |:$/.test(s) || s.startsWith('- ')) {
    throw new YamlSubsetError(no, `unsupported value ${JSON.stringify(s)}`);
  }
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^(null|Null|NULL|~)$/.test(s)) return null;
  if (/^[-+]?\d+$/.test(s)) return Number(s);
  if (/^[-+]?(\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  return s;
}

/** `[a, "b", 'c']`: a flow list of scalars only. */
function flowList(s: string, no: number): YamlValue[] {
  if (!s.endsWith(']')) throw new YamlSubsetError(no, `unterminated flow list ${s}`);
  const inner = s.slice(1, -1).trim();
  if (inner === '') return [];
  const items: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i]!;
    if (quote) {
      cur += c;
      if (c === '\\' && quote === '"') cur += inner[++i] ?? '';
      else if (c === quote) quote = null;
    } else if (c === '"' || c === "'") {
      quote = c;
      cur += c;
    } else if (c === ',') {
      items.push(cur);
      cur = '';
    } else if (c === '[' || c === '{') {
      throw new YamlSubsetError(no, 'nested flow collections are not supported');
    } else {
      cur += c;
    }
  }
  items.push(cur);
  return items.map((it) => scalar(it, no));
}

/** The text of `key: rest` split at the first `: ` (or a trailing `:`) outside quotes. */
function splitKey(text: string, no: number): [string, string] {
  let key: string;
  let rest: string;
  if (text.startsWith('"') || text.startsWith("'")) {
    const end = text.indexOf(text[0]!, 1);
    if (end < 0) throw new YamlSubsetError(no, `bad quoted key in ${text}`);
    key = String(scalar(text.slice(0, end + 1), no));
    const after = text.slice(end + 1);
    if (!(after === ':' || after.startsWith(': '))) throw new YamlSubsetError(no, `expected "key: value", got ${text}`);
    rest = after.slice(1);
  } else {
    const m = /^([^\s:#][^:]*?):(?: (.*)|)$/.exec(text);
    if (!m) throw new YamlSubsetError(no, `expected "key: value", got ${text}`);
    key = m[1]!;
    rest = m[2] ?? '';
  }
  return [key, rest.trim()];
}

class Parser {
  private i = 0;
  private readonly anchors = new Map<string, YamlValue>();

  constructor(private readonly lines: Line[]) {}

  parseDocument(): YamlMap {
    if (this.lines.length === 0) return {};
    if (this.lines[0]!.indent !== 0) throw new YamlSubsetError(this.lines[0]!.no, 'the document must start at column 1');
    const doc = this.block(0);
    if (this.i < this.lines.length) throw new YamlSubsetError(this.lines[this.i]!.no, 'unexpected indentation');
    if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new YamlSubsetError(1, 'the document must be a mapping');
    return doc;
  }

  private peek(): Line | undefined {
    return this.lines[this.i];
  }

  private isItem(l: Line): boolean {
    return l.text === '-' || l.text.startsWith('- ');
  }

  /** The block starting at the current line, whose lines are indented exactly `indent`. */
  private block(indent: number): YamlValue {
    const l = this.peek()!;
    return this.isItem(l) ? this.list(indent) : this.mapping(indent);
  }

  /**
   * The value after `key:` or `-`: inline, or the more-indented block below (null if none). After
   * a mapping key (`ofKey`), a list may also start at the key's own column, as YAML allows.
   */
  private value(rest: string, parentIndent: number, no: number, ofKey = false): YamlValue {
    let anchor: string | undefined;
    if (rest.startsWith('&')) {
      const m = /^&([\w-]+)$/.exec(rest);
      if (!m) throw new YamlSubsetError(no, 'an anchor must stand alone before a block value');
      anchor = m[1]!;
      rest = '';
    }
    let v: YamlValue;
    if (rest === '') {
      const next = this.peek();
      const below = next && (next.indent > parentIndent || (ofKey && next.indent === parentIndent && this.isItem(next)));
      v = below ? this.block(next.indent) : null;
      if (anchor === undefined && v === null) throw new YamlSubsetError(no, 'empty value (write null or "" if meant)');
    } else if (rest.startsWith('*')) {
      const name = rest.slice(1);
      if (!this.anchors.has(name)) throw new YamlSubsetError(no, `unknown alias *${name}`);
      v = this.anchors.get(name)!;
    } else if (rest.startsWith('[')) {
      v = flowList(rest, no);
    } else {
      v = scalar(rest, no);
    }
    if (anchor !== undefined) this.anchors.set(anchor, v);
    return v;
  }

  private mapping(indent: number): YamlMap {
    const own: YamlMap = {};
    const merged: YamlMap = {};
    for (let l = this.peek(); l && l.indent === indent; l = this.peek()) {
      if (this.isItem(l)) throw new YamlSubsetError(l.no, 'a list item where a mapping key was expected (indent lists under their key)');
      this.i++;
      const [key, rest] = splitKey(l.text, l.no);
      if (key === '<<') {
        if (!rest.startsWith('*')) throw new YamlSubsetError(l.no, 'a merge key takes one *alias');
        const src = this.value(rest, indent, l.no);
        if (src === null || typeof src !== 'object' || Array.isArray(src)) throw new YamlSubsetError(l.no, `${rest} is not a mapping`);
        for (const [k, v] of Object.entries(src)) if (!(k in merged)) merged[k] = v;
        continue;
      }
      if (Object.prototype.hasOwnProperty.call(own, key)) throw new YamlSubsetError(l.no, `duplicate key ${key}`);
      own[key] = this.value(rest, indent, l.no, true);
    }
    const next = this.peek();
    if (next && next.indent > indent) throw new YamlSubsetError(next.no, 'unexpected indentation');
    return { ...merged, ...own };
  }

  private list(indent: number): YamlValue[] {
    const out: YamlValue[] = [];
    for (let l = this.peek(); l && l.indent === indent && this.isItem(l); l = this.peek()) {
      this.i++;
      const rest = l.text === '-' ? '' : l.text.slice(2).trim();
      if (rest !== '' && !rest.startsWith('"') && !rest.startsWith("'") && /^[^\s:]+:( |$)/.test(rest)) {
        // `- key: value`: a mapping whose keys sit at the column of this first key. Read this line
        // again as that mapping's first line.
        const column = indent + l.text.length - rest.length;
        this.lines[--this.i] = { no: l.no, indent: column, text: rest };
        out.push(this.mapping(column));
        continue;
      }
      out.push(this.value(rest, indent, l.no));
    }
    const next = this.peek();
    if (next && next.indent > indent) throw new YamlSubsetError(next.no, 'unexpected indentation');
    return out;
  }
}

/** Parses YAML text in the subset above; throws YamlSubsetError on anything outside it. */
export function parseYamlSubset(text: string): YamlMap {
  return new Parser(toLines(text)).parseDocument();
}

/**
 * Parses a stream of documents separated by `---` lines (as kubectl reads a manifest file).
 * Empty documents are skipped; line numbers in errors count from the top of the whole text.
 */
export function parseYamlDocuments(text: string): YamlMap[] {
  const lines = text.split(/\r?\n/);
  const docs: YamlMap[] = [];
  let start = 0;
  const flush = (end: number) => {
    // Blank lines in front keep the line numbers of the whole text.
    const chunk = '\n'.repeat(start) + lines.slice(start, end).join('\n');
    const doc = parseYamlSubset(chunk);
    if (Object.keys(doc).length > 0) docs.push(doc);
  };
  lines.forEach((line, i) => {
    if (/^---\s*(#.*)?$/.test(line)) {
      flush(i);
      start = i + 1;
    }
  });
  flush(lines.length);
  return docs;
}
