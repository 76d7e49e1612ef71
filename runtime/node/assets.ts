import { open, stat } from 'node:fs/promises';
import { join, relative, sep, isAbsolute } from 'node:path';
import { decodeHeightfield, normaliseAssetPath, type HeightfieldData } from '../core/index.js';

/**
 * A heightfield file already read into shared memory, as one AssetRoot hands it to another
 * (on another worker thread of the same process) so both use the same bytes.
 */
export interface SharedHeightfield {
  /** Absolute path of the file. */
  path: string;
  /** Size and mtime when read: a later change on disk is read afresh. */
  stamp: string;
  buffer: SharedArrayBuffer;
}

/**
 * A scene's asset root on disk. Paths from scenes are relative and checked (the validator
 * already rejects escapes; this is the second lock for callers that skip it).
 */
export class AssetRoot {
  /** Heightfields read by this root, by absolute path + size + mtime, so a hot reload that keeps the file reuses it. */
  private readonly heightfields = new Map<string, { stamp: string; buffer: SharedArrayBuffer; data: HeightfieldData }>();

  /** `shared`: heightfields another root of this process read already (see `shared()`); used without a copy. */
  constructor(
    readonly dir: string,
    shared: readonly SharedHeightfield[] = [],
  ) {
    for (const h of shared) this.heightfields.set(h.path, { stamp: h.stamp, buffer: h.buffer, data: decodeHeightfield(h.buffer) });
  }

  /** The heightfields read so far, to pass to other threads (a SharedArrayBuffer in workerData is shared, not copied). */
  shared(): SharedHeightfield[] {
    return [...this.heightfields].map(([path, h]) => ({ path, stamp: h.stamp, buffer: h.buffer }));
  }

  /** Absolute path of an asset; throws when the path is not a relative path inside the root. */
  resolve(assetPath: string): string {
    const norm = normaliseAssetPath(assetPath);
    if (norm === null) throw new Error(`asset path "${assetPath}" must be a relative path inside ${this.dir}`);
    const abs = join(this.dir, ...norm.split('/'));
    const rel = relative(this.dir, abs);
    if (rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) throw new Error(`asset path "${assetPath}" escapes ${this.dir}`);
    return abs;
  }

  /**
   * Reads a `.khf` heightfield into a SharedArrayBuffer, so the decoded view can be handed to
   * other instances or worker threads of this process without a copy.
   */
  async heightfield(assetPath: string): Promise<HeightfieldData> {
    const abs = this.resolve(assetPath);
    const st = await stat(abs);
    const stamp = `${st.size}:${st.mtimeMs}`;
    const cached = this.heightfields.get(abs);
    if (cached && cached.stamp === stamp) return cached.data;
    const sab = new SharedArrayBuffer(st.size);
    const bytes = new Uint8Array(sab);
    const fh = await open(abs, 'r');
    try {
      let off = 0;
      while (off < bytes.length) {
        const { bytesRead } = await fh.read(bytes, off, bytes.length - off, off);
        if (bytesRead === 0) throw new Error(`${abs} shrank while being read`);
        off += bytesRead;
      }
    } finally {
      await fh.close();
    }
    const data = decodeHeightfield(sab);
    this.heightfields.set(abs, { stamp, buffer: sab, data });
    return data;
  }
}
