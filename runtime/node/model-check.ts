import { open } from 'node:fs/promises';
import { normaliseAssetPath, type SceneDocument, type SceneProblem } from '../core/index.js';
import type { AssetRoot } from './assets.js';

/** 'glTF' read as a little-endian uint32: the first four bytes of every glTF binary. */
export const GLB_MAGIC = 0x46546c67;

/**
 * Checks every `model` mesh of a scene: the file exists under the asset root and is a glTF
 * binary (GLB magic and version 2). The server never loads models; `keel validate` runs this so
 * a client does not find out first.
 */
export async function checkModels(doc: SceneDocument, assets: AssetRoot, shown: string): Promise<SceneProblem[]> {
  const problems: SceneProblem[] = [];
  await Promise.all(
    doc.entities.map(async (e, i) => {
      const mesh = e.components.mesh;
      if (mesh?.shape !== 'model') return;
      const pointer = `/entities/${i}/components/mesh/asset`;
      const key = normaliseAssetPath(mesh.asset);
      if (key === null) return; // the validator already reported the path
      const why = await glbProblem(assets.resolve(key));
      if (why) problems.push({ file: shown, pointer, rule: 'model', message: `${mesh.asset}: ${why}` });
    }),
  );
  return problems;
}

async function glbProblem(file: string): Promise<string | null> {
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    return 'no such file under the asset root';
  }
  try {
    const head = Buffer.alloc(12);
    const { bytesRead } = await fh.read(head, 0, 12, 0);
    if (bytesRead < 12 || head.readUInt32LE(0) !== GLB_MAGIC) return 'not a glTF binary (.glb): the file does not start with "glTF"';
    if (head.readUInt32LE(4) !== 2) return `glTF binary version ${head.readUInt32LE(4)}; only version 2 is read`;
    return null;
  } finally {
    await fh.close();
  }
}
