/**
 * Reads deploy/Dockerfile for the deploy tests: its stages and instructions, the final image's
 * ENV, ENTRYPOINT, CMD and HEALTHCHECK, and where a path inside the image comes from in the
 * repository. Only the forms the Dockerfile uses are accepted (exec-form JSON arrays, ENV
 * key=value, no ARG or $variables); anything else throws rather than being guessed at.
 */
import { posix } from 'node:path';

export interface Instruction {
  /** Upper-case instruction name. */
  op: string;
  args: string;
  line: number;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface ImageConfig {
  stages: Stage[];
  /** The final stage: what `docker run` starts. */
  final: Stage;
  env: Record<string, string>;
  entrypoint: string[];
  cmd: string[];
  workdir: string;
  user: string | undefined;
  expose: string[];
  volumes: string[];
  stopSignal: string | undefined;
  healthcheck: { options: Record<string, string>; test: string[] } | undefined;
}

/** Instructions with continuation lines joined and comments (and parser directives) dropped. */
export function instructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let pending = '';
  let start = 0;
  text.split(/\r?\n/).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (pending === '' && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (pending !== '' && trimmed.startsWith('#')) return; // comment lines inside a continuation are skipped by Docker too
    if (pending === '') start = i + 1;
    if (trimmed.endsWith('\\')) {
      pending += `${trimmed.slice(0, -1)} `;
      return;
    }
    const full = pending + trimmed;
    pending = '';
    const m = /^(\S+)\s*(.*)$/.exec(full)!;
    out.push({ op: m[1]!.toUpperCase(), args: m[2]!.trim(), line: start });
  });
  if (pending) throw new Error('Dockerfile ends inside a continuation line');
  return out;
}

/** An exec-form argument list; throws on shell form, which would put /bin/sh between Docker and node. */
export function execForm(ins: Instruction, src = ins.args): string[] {
  let v: unknown;
  try {
    v = JSON.parse(src);
  } catch {
    throw new Error(`Dockerfile line ${ins.line}: ${ins.op} is not in exec form (a JSON array): ${src}`);
  }
  if (!Array.isArray(v) || v.length === 0 || !v.every((x) => typeof x === 'string')) {
    throw new Error(`Dockerfile line ${ins.line}: ${ins.op} must be a non-empty JSON array of strings`);
  }
  return v as string[];
}

/** Splits `a="b c" d=e` into tokens, honouring double and single quotes. */
function tokens(s: string, line: number): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | null = null;
  let any = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < s.length) cur += s[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      any = true;
    } else if (/\s/.test(c)) {
      if (any || cur) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += c;
      any = true;
    }
  }
  if (quote) throw new Error(`Dockerfile line ${line}: unterminated quote`);
  if (any || cur) out.push(cur);
  return out;
}

export function parseDockerfile(text: string): ImageConfig {
  const stages: Stage[] = [];
  for (const ins of instructions(text)) {
    if (ins.op === 'ARG' || ins.args.includes('${')) throw new Error(`Dockerfile line ${ins.line}: ARG and \${...} are not supported by this reader`);
    if (ins.op === 'FROM') {
      const m = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.args);
      if (!m) throw new Error(`Dockerfile line ${ins.line}: cannot read FROM ${ins.args}`);
      stages.push({ name: m[2] ?? String(stages.length), base: m[1]!, instructions: [] });
      continue;
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${ins.line}: ${ins.op} before FROM`);
    stages.at(-1)!.instructions.push(ins);
  }
  const final = stages.at(-1);
  if (!final) throw new Error('Dockerfile has no FROM');

  const cfg: ImageConfig = {
    stages,
    final,
    env: {},
    entrypoint: [],
    cmd: [],
    workdir: '/',
    user: undefined,
    expose: [],
    volumes: [],
    stopSignal: undefined,
    healthcheck: undefined,
  };
  for (const ins of final.instructions) {
    switch (ins.op) {
      case 'ENV':
        for (const t of tokens(ins.args, ins.line)) {
          const eq = t.indexOf('=');
          if (eq <= 0) throw new Error(`Dockerfile line ${ins.line}: ENV must use key=value pairs (got ${t})`);
          if (t.includes('$')) throw new Error(`Dockerfile line ${ins.line}: ENV values with $ are not supported by this reader`);
          cfg.env[t.slice(0, eq)] = t.slice(eq + 1);
        }
        break;
      case 'ENTRYPOINT':
        cfg.entrypoint = execForm(ins);
        cfg.cmd = []; // Docker resets CMD when ENTRYPOINT is set
        break;
      case 'CMD':
        cfg.cmd = execForm(ins);
        break;
      case 'WORKDIR':
        cfg.workdir = posix.resolve(cfg.workdir, ins.args);
        break;
      case 'USER':
        cfg.user = ins.args;
        break;
      case 'EXPOSE':
        cfg.expose.push(...ins.args.split(/\s+/));
        break;
      case 'VOLUME':
        cfg.volumes.push(...(ins.args.startsWith('[') ? execForm(ins) : ins.args.split(/\s+/)));
        break;
      case 'STOPSIGNAL':
        cfg.stopSignal = ins.args;
        break;
      case 'HEALTHCHECK': {
        const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(\[.*\])$/.exec(ins.args);
        if (!m) throw new Error(`Dockerfile line ${ins.line}: HEALTHCHECK must be [--opt=value ...] CMD ["exec", "form"]`);
        const options: Record<string, string> = {};
        for (const o of m[1]!.trim().split(/\s+/).filter(Boolean)) {
          const [k, v] = o.slice(2).split('=');
          options[k!] = v!;
        }
        cfg.healthcheck = { options, test: execForm(ins, m[2]) };
        break;
      }
      default:
        break;
    }
  }
  return cfg;
}

/** One COPY of the final stage from another stage: image path(s) and where they come from. */
interface CopyEdge {
  fromStage: Stage;
  /** Absolute path in the source stage. */
  src: string;
  /** Absolute path in the final image. */
  dest: string;
  /** True when `src` names a folder (written with a trailing slash). */
  dir: boolean;
}

function workdirOf(stage: Stage, upTo?: Instruction): string {
  let wd = '/';
  for (const ins of stage.instructions) {
    if (ins === upTo) break;
    if (ins.op === 'WORKDIR') wd = posix.resolve(wd, ins.args);
  }
  return wd;
}

function copyEdges(cfg: ImageConfig): CopyEdge[] {
  const edges: CopyEdge[] = [];
  for (const ins of cfg.final.instructions) {
    if (ins.op !== 'COPY') continue;
    const parts = tokens(ins.args, ins.line);
    const from = parts.find((p) => p.startsWith('--from='))?.slice('--from='.length);
    const rest = parts.filter((p) => !p.startsWith('--'));
    if (!from) continue; // from the build context: not used by the final stage here
    const fromStage = cfg.stages.find((s) => s.name === from);
    if (!fromStage) throw new Error(`Dockerfile line ${ins.line}: COPY --from=${from}: no such stage`);
    const wd = workdirOf(cfg.final, ins);
    const destRaw = rest.at(-1)!;
    const srcs = rest.slice(0, -1);
    const dest = posix.resolve(wd, destRaw);
    for (const s of srcs) {
      const dir = s.endsWith('/');
      const src = posix.resolve(workdirOf(fromStage), s);
      const target = dir ? dest : destRaw.endsWith('/') || srcs.length > 1 ? posix.join(dest, posix.basename(src)) : dest;
      edges.push({ fromStage, src, dest: target, dir });
    }
  }
  return edges;
}

/**
 * Where an absolute path of the final image comes from, as a path relative to the source
 * stage's WORKDIR (the build stage works in a copy of the repository, so for this Dockerfile
 * that is a path relative to the repo root), or undefined when no COPY --from puts it there.
 */
export function imagePathSource(cfg: ImageConfig, imagePath: string): { stage: string; relative: string } | undefined {
  let found: { stage: string; relative: string } | undefined;
  for (const e of copyEdges(cfg)) {
    let src: string | undefined;
    if (imagePath === e.dest) src = e.src;
    else if (e.dir && imagePath.startsWith(`${e.dest}/`)) src = posix.join(e.src, imagePath.slice(e.dest.length + 1));
    // Later COPYs win, as in the image.
    if (src !== undefined) found = { stage: e.fromStage.name, relative: posix.relative(workdirOf(e.fromStage), src) };
  }
  return found;
}

/** Every image path the final stage copies from another stage, with its source path relative to that stage's WORKDIR. */
export function copiedFiles(cfg: ImageConfig): { dest: string; relative: string; dir: boolean }[] {
  return copyEdges(cfg).map((e) => ({ dest: e.dest, relative: posix.relative(workdirOf(e.fromStage), e.src), dir: e.dir }));
}
