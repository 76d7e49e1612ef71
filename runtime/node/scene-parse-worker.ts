/**
 * The scene parse worker's thread (see scene-parser.ts): reads, parses and validates scene
 * files off the server's game loop and sends back the document (as JSON text: for a large
 * scene, parsing text on the other side takes a fraction of what copying the object graph
 * between threads does), the path as shown in messages and the file's hash, or the problems
 * found.
 */
import { performance } from 'node:perf_hooks';
import { parentPort } from 'node:worker_threads';
import { SceneError } from '../core/index.js';
import { readScene } from './scene-loader.js';
import type { ParseReply, ParseRequest } from './scene-parser.js';

const port = parentPort;
if (!port) throw new Error('scene-parse-worker.js runs on a worker thread (SceneParser starts it)');
port.on('message', (m: ParseRequest) => {
  const t0 = performance.now();
  readScene(m.file, m.cwd).then(
    (r) => port.postMessage({ id: m.id, ok: true, shown: r.shown, hash: r.hash, text: JSON.stringify(r.doc), workMs: performance.now() - t0 } satisfies ParseReply),
    (err: unknown) =>
      port.postMessage({ id: m.id, ok: false, problems: err instanceof SceneError ? err.problems : null, message: (err as Error).message } satisfies ParseReply),
  );
});
