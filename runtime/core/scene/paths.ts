/**
 * Asset paths inside a scene are POSIX-style and relative to the scene's asset root. This is
 * string logic only, so the core stays free of `node:path`; the node layer joins the result
 * onto a real directory.
 */

/** Normalises `a/./b/../c` to `a/c`; returns null when the path is absolute or climbs out of the root. */
export function normaliseAssetPath(path: string): string | null {
  if (path.length === 0 || path.includes('\\') || path.includes('\0')) return null;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || /^[a-z][a-z0-9+.-]*:\/\//i.test(path)) return null;
  const out: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(seg);
  }
  return out.length === 0 ? null : out.join('/');
}
