/** Shared helpers for the core unit tests: scene documents, validated scenes, a recording logger. */
import type { Logger, LogFn } from '../../runtime/core/log.js';
import type { SceneDocument } from '../../runtime/core/scene/schema.js';
import { SceneError, validateScene } from '../../runtime/core/scene/validate.js';

/** A raw (unvalidated) scene document. */
export function sceneDoc(entities: unknown[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { format: 'keel-scene', version: 1, name: 't', entities, ...extra };
}

/** A validated scene with defaults applied; throws SceneError when the document is invalid. */
export function loadScene(entities: unknown[], extra: Record<string, unknown> = {}): SceneDocument {
  const r = validateScene(sceneDoc(entities, extra), 'test.json');
  if (!r.ok) throw new SceneError(r.problems);
  return r.scene;
}

export interface LogCall {
  level: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  obj: object | string;
  msg: string | undefined;
  bindings: Record<string, unknown>;
}

/** A Logger that records every call; children share the record and add their bindings. */
export function recordingLogger(calls: LogCall[] = [], bindings: Record<string, unknown> = {}): Logger & { calls: LogCall[] } {
  const fn =
    (level: LogCall['level']): LogFn =>
    (obj, msg) => {
      calls.push({ level, obj, msg, bindings });
    };
  return {
    calls,
    debug: fn('debug'),
    info: fn('info'),
    warn: fn('warn'),
    error: fn('error'),
    fatal: fn('fatal'),
    child: (more) => recordingLogger(calls, { ...bindings, ...more }),
  };
}
