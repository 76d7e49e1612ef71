/**
 * Checking a scene's scripts without running them. A scene script is code with the server's
 * privileges, and importing a module runs it: `keel validate` on a scene from elsewhere must not
 * be how that code first runs. So validation parses each script (acorn, as an ES module) and
 * checks what can be seen in its source: that it parses, and that its default export is an
 * object whose hooks (start, update, collision, destroy) are functions. `--import-scripts` asks
 * for the full load instead, exactly as `keel serve` does it.
 */
import { readFile, stat } from 'node:fs/promises';
import { parse, type Node } from 'acorn';
import { SceneError, type RunMode, type SceneDocument, type SceneProblem } from '../core/index.js';
import type { AssetRoot } from './assets.js';
import { readAndValidate, references } from './scene-loader.js';

const HOOKS = new Set(['start', 'update', 'collision', 'destroy']);
const SHAPE = 'must export default an object of hooks (start, update, collision, destroy)';

/** What validation without importing found in one scene. */
export interface InspectedScene {
  file: string;
  doc: SceneDocument;
  scripts: number;
  heightfields: number;
}

type AnyNode = Node & Record<string, any>;

/**
 * Why `source` is not a usable scene script, judged from its text alone, or null when it is (as
 * far as the source shows: a default export built at run time is taken on trust).
 */
export function checkScriptSource(source: string): string | null {
  let program: AnyNode;
  try {
    program = parse(source, { ecmaVersion: 'latest', sourceType: 'module', locations: true }) as AnyNode;
  } catch (err) {
    return `does not parse: ${(err as Error).message}`;
  }
  const body = program.body as AnyNode[];
  /** Top-level `const|let|var name = <init>` and `function name` / `class name` declarations. */
  const declared = (name: string): AnyNode | null => {
    for (const stmt of body) {
      const decl: AnyNode = stmt.type === 'ExportNamedDeclaration' && stmt.declaration ? stmt.declaration : stmt;
      if (decl.type === 'VariableDeclaration') {
        for (const d of decl.declarations as AnyNode[]) if (d.id.type === 'Identifier' && d.id.name === name) return d.init ?? null;
      } else if ((decl.type === 'FunctionDeclaration' || decl.type === 'ClassDeclaration') && decl.id?.name === name) return decl;
    }
    return null;
  };
  let value: AnyNode | null = null;
  let found = false;
  for (const stmt of body) {
    if (stmt.type === 'ExportDefaultDeclaration') {
      found = true;
      value = stmt.declaration;
    } else if (stmt.type === 'ExportNamedDeclaration' && !stmt.source) {
      for (const s of stmt.specifiers as AnyNode[]) {
        const exported = s.exported.type === 'Identifier' ? s.exported.name : s.exported.value;
        if (exported === 'default') {
          found = true;
          value = { type: 'Identifier', name: s.local.name } as unknown as AnyNode;
        }
      }
    } else if (stmt.type === 'ExportNamedDeclaration' || stmt.type === 'ExportAllDeclaration') {
      // Re-exported from another module: its shape shows only when imported.
      if ((stmt.specifiers as AnyNode[] | undefined)?.some((s) => (s.exported?.name ?? s.exported?.value) === 'default')) return null;
    }
  }
  if (!found) return `${SHAPE}; it has no default export`;
  // Follow `export default hooks` to `const hooks = {...}` (a few steps at most).
  for (let i = 0; i < 5 && value?.type === 'Identifier'; i++) value = declared(value.name as string);
  if (!value) return null; // bound at run time
  return shapeProblem(value);
}

function shapeProblem(value: AnyNode): string | null {
  switch (value.type) {
    case 'ObjectExpression':
      for (const p of value.properties as AnyNode[]) {
        if (p.type !== 'Property' || p.computed) continue;
        const key = p.key.type === 'Identifier' ? p.key.name : p.key.value;
        if (!HOOKS.has(key)) continue;
        if (p.kind !== 'init') return `export default.${key} must be a function (not a ${p.kind}ter)`;
        if (p.method) continue;
        const v = p.value as AnyNode;
        if (v.type === 'FunctionExpression' || v.type === 'ArrowFunctionExpression') continue;
        if (v.type === 'Literal' || v.type === 'ObjectExpression' || v.type === 'ArrayExpression' || v.type === 'TemplateLiteral' || v.type === 'ClassExpression') {
          return `export default.${key} must be a function`;
        }
      }
      return null;
    case 'Literal':
    case 'TemplateLiteral':
    case 'ArrayExpression':
    case 'FunctionDeclaration':
    case 'FunctionExpression':
    case 'ArrowFunctionExpression':
    case 'ClassDeclaration':
    case 'ClassExpression':
      return SHAPE;
    default:
      return null; // a call, a `new`, a member: what it yields shows only when run
  }
}

/**
 * Validates a scene and what it references without running any of it: the scene against the
 * format, each script for existence, syntax and export shape, each heightfield by decoding it.
 * Throws a SceneError listing every problem, with the same pointers `keel serve` reports.
 */
export async function inspectSceneFile(file: string, assets: AssetRoot, mode: RunMode, cwd = process.cwd()): Promise<InspectedScene> {
  const checked = await readAndValidate(file, cwd);
  const problems: SceneProblem[] = [];
  const seen = new Set<string>();
  let scripts = 0;
  let heightfields = 0;
  await Promise.all(
    references(checked.doc, mode).map(async (r) => {
      const id = `${r.kind}:${r.key}`;
      if (seen.has(id)) return;
      seen.add(id);
      try {
        if (r.kind === 'script') {
          const abs = assets.resolve(r.key);
          const st = await stat(abs).catch(() => null);
          if (!st?.isFile()) throw new Error(`no such file under ${assets.dir}`);
          const problem = checkScriptSource(await readFile(abs, 'utf8'));
          if (problem) throw new Error(problem);
          scripts++;
        } else {
          await assets.heightfield(r.key);
          heightfields++;
        }
      } catch (err) {
        problems.push({ file: checked.shown, pointer: r.pointer, rule: r.kind === 'script' ? 'script-check' : 'asset', message: `${r.given}: ${(err as Error).message}` });
      }
    }),
  );
  if (problems.length > 0) throw new SceneError(problems);
  return { file, doc: checked.doc, scripts, heightfields };
}
