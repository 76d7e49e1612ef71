import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Prefix of the temporary files {@link writeFileAtomic} leaves behind if the process dies mid-write. */
export const TEMP_PREFIX = '.keel-tmp-';

export interface AtomicWriteHooks {
  /** Called after the temporary file is written and synced, before the rename (tests stop a writer here). */
  beforeRename?(tempPath: string): void | Promise<void>;
}

/**
 * Replaces `file` with `data` so that a reader, a crash or a full disk sees either the whole old
 * file or the whole new one: the bytes go to a temporary file in the same folder (same file
 * system, so the rename is atomic), which is synced, renamed over the target, and the folder is
 * synced so the rename itself survives a power cut. The temporary name starts with a dot and ends
 * in `.tmp`, so nothing that lists `*.json` mistakes it for a scene.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, hooks: AtomicWriteHooks = {}): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `${TEMP_PREFIX}${basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let renamed = false;
  try {
    const fh = await open(temp, 'wx', 0o644);
    try {
      await fh.writeFile(data);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await hooks.beforeRename?.(temp);
    await rename(temp, file);
    renamed = true;
    await syncDir(dir);
  } finally {
    if (!renamed) await rm(temp, { force: true });
  }
}

async function syncDir(dir: string): Promise<void> {
  // Some platforms (Windows) cannot open a folder for syncing; the rename is still atomic there.
  let fh;
  try {
    fh = await open(dir, 'r');
    await fh.sync();
  } catch {
    /* best effort */
  } finally {
    await fh?.close();
  }
}
