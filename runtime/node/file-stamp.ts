import { stat } from 'node:fs/promises';

/**
 * What identifies one version of a file on disk without reading it: inode, size, and
 * modification and change times in nanoseconds (a rename over it, or any write, changes one of
 * them). '' when the file is gone.
 */
export async function fileStamp(file: string): Promise<string> {
  try {
    const st = await stat(file, { bigint: true });
    return `${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw err;
  }
}
