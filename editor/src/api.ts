/**
 * The editor's only ways to the disk: the dev server's read API (GET /__keel/scenes) and its
 * write API (PUT with If-Match and the page's token, POST to create from a template).
 */
import type { SceneDocument, SceneEdit, SceneProblem } from '../../runtime/core/index.js';

export const SCENES_URL = '/__keel/scenes';

export interface SceneEntry {
  name: string;
  file: string;
}

/** The write token the dev server put in the page (`<meta name="keel-token">`). */
export function pageToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="keel-token"]')?.content ?? '';
}

export async function listScenes(): Promise<{ scenes: SceneEntry[]; assets: string[] }> {
  const res = await fetch(SCENES_URL, { cache: 'no-store' });
  if (!res.ok) throw new Error(`cannot list scenes (HTTP ${res.status})`);
  const body = (await res.json()) as { scenes: SceneEntry[]; assets?: string[] };
  return { scenes: body.scenes, assets: body.assets ?? [] };
}

export type SaveResult =
  | { status: 'saved'; hash: string }
  | { status: 'conflict'; current: string | null }
  | { status: 'invalid'; problems: Omit<SceneProblem, 'file'>[] }
  | { status: 'error'; message: string };

/** Saves `doc` over the version with sha256 `ifMatch` (`*` overwrites whatever is there). */
export async function saveScene(name: string, doc: SceneDocument, ifMatch: string): Promise<SaveResult> {
  let res: Response;
  // Marked stages (keel:save:*) let the bench and DevTools see where a save's time goes.
  const t0 = performance.now();
  // Sent as a Blob: a large string body was seen to block the page's main thread for up to
  // seconds inside fetch (headless chromium, 1.7 MB scene); a Blob is handed over without that.
  const text = new Blob([JSON.stringify(doc)], { type: 'application/json' });
  const t1 = performance.now();
  try {
    res = await fetch(`${SCENES_URL}/${encodeURIComponent(name)}.json`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/json', 'If-Match': ifMatch === '*' ? '*' : `"${ifMatch}"`, 'X-Keel-Token': pageToken() },
      body: text,
    });
  } catch (err) {
    return { status: 'error', message: `the dev server cannot be reached: ${(err as Error).message}` };
  }
  const t2 = performance.now();
  const result = await saveResult(res);
  performance.measure('keel:save:serialise', { start: t0, end: t1 });
  performance.measure('keel:save:request', { start: t1, end: t2 });
  performance.measure('keel:save:answer', { start: t2, end: performance.now() });
  return result;
}

/** The write API's answer to a save, whole or as edits. */
async function saveResult(res: Response): Promise<SaveResult> {
  const body = (await res.json().catch(() => ({}))) as { hash?: string; current?: string | null; problems?: Omit<SceneProblem, 'file'>[]; error?: string };
  if (res.status === 200) return { status: 'saved', hash: body.hash ?? '' };
  if (res.status === 409) return { status: 'conflict', current: body.current ?? null };
  if (res.status === 422) return { status: 'invalid', problems: body.problems ?? [] };
  return { status: 'error', message: body.error ?? `HTTP ${res.status}` };
}

/** Content type of an edits save (runtime/node/dev/scene-write-plugin.ts). */
const SCENE_EDITS_TYPE = 'application/vnd.keel.scene-edits+json';

/**
 * Saves by sending the edits made since the version with sha256 `ifMatch`: the dev server
 * applies them to that version and writes the result, the same bytes a whole save writes. A
 * save of a large scene then sends a few hundred bytes instead of megabytes. `error` answers
 * (an older dev server, a refused list) should be retried as a whole save.
 */
export async function saveEdits(name: string, edits: readonly SceneEdit[], ifMatch: string): Promise<SaveResult> {
  const t0 = performance.now();
  let res: Response;
  try {
    res = await fetch(`${SCENES_URL}/${encodeURIComponent(name)}.json`, {
      method: 'PUT',
      headers: { 'Content-Type': SCENE_EDITS_TYPE, 'If-Match': `"${ifMatch}"`, 'X-Keel-Token': pageToken() },
      body: JSON.stringify({ edits }),
    });
  } catch (err) {
    return { status: 'error', message: `the dev server cannot be reached: ${(err as Error).message}` };
  }
  const result = await saveResult(res);
  performance.measure('keel:save:request', { start: t0, end: performance.now() });
  return result;
}

/** Creates `<name>.json` from a write-plugin template; resolves to an error message or null. */
export async function createScene(name: string, template: 'basic' | 'empty'): Promise<string | null> {
  const res = await fetch(SCENES_URL, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-Keel-Token': pageToken() },
    body: JSON.stringify({ name, template }),
  });
  if (res.status === 201) return null;
  const body = (await res.json().catch(() => ({}))) as { error?: string };
  return body.error ?? `HTTP ${res.status}`;
}

/** sha256 hex of the file as it is on disk now, or null when it is gone. */
export async function diskHash(name: string): Promise<string | null> {
  const res = await fetch(`${SCENES_URL}/${encodeURIComponent(name)}.json`, { cache: 'no-store' });
  if (!res.ok) return null;
  const digest = await crypto.subtle.digest('SHA-256', await res.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}
