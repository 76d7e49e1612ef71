/**
 * The scene parse worker's thread (see scene-parser.ts): reads, parses and validates scene
 * files off the server's game loop and sends back the path as shown in messages, the file's
 * hash, and the document, or the problems found.
 *
 * The document goes back as JSON text (for a large scene, parsing text on the other side takes
 * a fraction of what copying the object graph between threads does), or, when the caller holds
 * a version this worker parsed before (`ParseRequest.base`), as a delta against it: which of its
 * entities are unchanged (the caller keeps its own objects for those) and the text of the rest.
 * A one-entity edit of a 2000-entity scene then costs the caller a small parse instead of a whole
 * one. A prime (`ParseRequest.prime`) reads and keeps a version ahead of the parses that will
 * name it as their base, and answers with its hash alone.
 */
import { parentPort } from 'node:worker_threads';
import { SceneError, sameJson, type SceneDocument } from '../core/index.js';
import { readScene } from './scene-loader.js';
import type { ParseReply, ParseRequest } from './scene-parser.js';

/** Versions kept to diff against, newest last: the running one and a few read since (superseded or rejected later). */
const KEEP = 4;

const port = parentPort;
if (!port) throw new Error('scene-parse-worker.js runs on a worker thread (SceneParser starts it)');
const kept = new Map<string, SceneDocument>();

port.on('message', (m: ParseRequest) => {
  readScene(m.file, m.cwd).then(
    (r) => {
      const base = m.base === undefined ? undefined : kept.get(m.base);
      kept.delete(r.hash);
      kept.set(r.hash, r.doc);
      if (kept.size > KEEP) kept.delete(kept.keys().next().value!);
      const head = { id: m.id, ok: true as const, shown: r.shown, hash: r.hash, workMs: r.parseMs };
      if (m.prime) {
        port.postMessage({ ...head, primed: true } satisfies ParseReply);
        return;
      }
      if (!base) {
        port.postMessage({ ...head, text: JSON.stringify(r.doc) } satisfies ParseReply);
        return;
      }
      const { order, changed } = entityDelta(base, r.doc);
      port.postMessage(
        { ...head, delta: { base: m.base!, top: JSON.stringify({ ...r.doc, entities: [] }), order, changed: JSON.stringify(changed) } } satisfies ParseReply,
        [order.buffer as ArrayBuffer],
      );
    },
    (err: unknown) =>
      port.postMessage({ id: m.id, ok: false, problems: err instanceof SceneError ? err.problems : null, message: (err as Error).message } satisfies ParseReply),
  );
});

/**
 * `next`'s entities against `base`'s: for each, the index of an equal entity in `base` (same id,
 * same data), or -1 - k for the k-th of `changed` (new or different).
 */
function entityDelta(base: SceneDocument, next: SceneDocument): { order: Int32Array; changed: unknown[] } {
  const at = new Map<string, number>();
  base.entities.forEach((e, i) => at.set(e.id, i));
  const order = new Int32Array(next.entities.length);
  const changed: unknown[] = [];
  next.entities.forEach((e, i) => {
    const j = at.get(e.id);
    if (j !== undefined && sameJson(base.entities[j], e)) order[i] = j;
    else {
      changed.push(e);
      order[i] = -changed.length; // -1 - its index in changed
    }
  });
  return { order, changed };
}
