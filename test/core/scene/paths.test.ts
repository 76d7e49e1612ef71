import { describe, expect, it } from 'vitest';
import { normaliseAssetPath } from '../../../runtime/core/scene/paths.js';

describe('normaliseAssetPath', () => {
  it.each([
    ['scripts/spin.js', 'scripts/spin.js'],
    ['./scripts/spin.js', 'scripts/spin.js'],
    ['a/./b/../c', 'a/c'],
    ['a//b///c.js', 'a/b/c.js'],
    ['a/b/', 'a/b'],
    ['a/b/../../c', 'c'],
    ['..a/b..', '..a/b..'],
    ['assets/terrain-heights.khf', 'assets/terrain-heights.khf'],
  ])('normalises %j to %j', (input, expected) => {
    expect(normaliseAssetPath(input)).toBe(expected);
  });

  it.each([
    ['', 'empty'],
    ['.', 'the root itself'],
    ['a/..', 'climbs back to the root'],
    ['..', 'the parent'],
    ['../x.js', 'leaves the root'],
    ['a/../../x', 'climbs out after going in'],
    ['/abs.js', 'POSIX absolute'],
    ['C:/x.js', 'drive letter'],
    ['c:x.js', 'drive-relative'],
    ['https://example.com/x.js', 'URL'],
    ['file:///etc/passwd', 'file URL'],
    ['scripts\\spin.js', 'backslash'],
    ['a\0b', 'NUL byte'],
  ])('rejects %j (%s)', (input) => {
    expect(normaliseAssetPath(input)).toBeNull();
  });

  it('is idempotent on its own output', () => {
    for (const p of ['./a/./b/../c.js', 'x//y/z/']) {
      const once = normaliseAssetPath(p)!;
      expect(normaliseAssetPath(once)).toBe(once);
    }
  });
});
