/** The start screen: the scenes in the folder, and a new scene from a template. */
import { useEffect, useState } from 'preact/hooks';
import { createScene, listScenes, type SceneEntry } from './api.js';

export function SceneList() {
  const [scenes, setScenes] = useState<SceneEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [template, setTemplate] = useState<'basic' | 'empty'>('basic');
  useEffect(() => {
    listScenes().then(
      (r) => setScenes(r.scenes),
      (err: Error) => setError(err.message),
    );
  }, []);
  const create = async (e: Event) => {
    e.preventDefault();
    const problem = await createScene(name.trim(), template);
    if (problem) setError(problem);
    else location.search = `?scene=${encodeURIComponent(name.trim())}`;
  };
  return (
    <div class="scene-list">
      <div class="card">
        <h1>
          keel <span>editor</span>
        </h1>
        <h2>Open a scene</h2>
        {scenes === null && !error && <p class="hint">Loading…</p>}
        <ul class="scenes">
          {scenes?.map((s) => (
            <li key={s.name}>
              <a href={`?scene=${encodeURIComponent(s.name)}`} data-scene={s.name}>
                <span class="scene-name">{s.name}</span>
                <span class="scene-file">scenes/{s.file}</span>
              </a>
            </li>
          ))}
          {scenes?.length === 0 && <li class="hint">No scenes in the folder yet.</li>}
        </ul>
        <h2>New scene</h2>
        <form class="new-scene" onSubmit={create}>
          <input placeholder="name, e.g. level-2" value={name} pattern="[A-Za-z0-9][A-Za-z0-9_\-]{0,63}" required onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          <select value={template} onChange={(e) => setTemplate((e.target as HTMLSelectElement).value as 'basic' | 'empty')}>
            <option value="basic">Basic (ground, light, camera, spawn)</option>
            <option value="empty">Empty</option>
          </select>
          <button type="submit" class="primary">
            Create
          </button>
        </form>
        {error && <p class="error">{error}</p>}
      </div>
    </div>
  );
}
