/**
 * The network benchmark's scenario scene: scenes/arena.json plus MOVERS dynamic bodies that
 * bench/net/mover.js keeps moving, written into a directory of its own with the scripts it
 * uses (scripts resolve relative to the scene's folder, its default asset root).
 *
 * Exports:
 *   MOVERS                      200
 *   writeScenario(repo, dir)    writes dir/bench-arena.json, dir/scripts/moving-platform.js and
 *                               dir/scripts/mover.js; returns { file, entities, movers }.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MOVERS = 200;

/** Grid of start positions above the floor, inside the walls (the arena is 40 x 40 m). */
const GRID = 15;
const SPACING = 2.3;
const DROP_HEIGHT = 3.5;

/**
 * @param {string} repo
 * @param {string} dir
 */
export function writeScenario(repo, dir) {
  const arena = JSON.parse(readFileSync(join(repo, 'scenes', 'arena.json'), 'utf8'));
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  copyFileSync(join(repo, 'scenes', 'scripts', 'moving-platform.js'), join(dir, 'scripts', 'moving-platform.js'));
  copyFileSync(join(repo, 'bench', 'net', 'mover.js'), join(dir, 'scripts', 'mover.js'));

  const movers = [];
  const half = ((GRID - 1) * SPACING) / 2;
  for (let i = 0; i < MOVERS; i++) {
    const row = Math.floor(i / GRID);
    const col = i % GRID;
    // Alternate layers so neighbours start apart; the bodies fall onto the floor and the arena's crates.
    const position = [-half + col * SPACING, DROP_HEIGHT + (i % 2) * 1.2, -half + row * SPACING];
    const box = i % 2 === 0;
    const id = `mover-${String(i + 1).padStart(3, '0')}`;
    movers.push({
      id,
      name: `Mover ${i + 1}`,
      tags: ['mover'],
      components: {
        transform: { position, rotation: [0, (i * 37) % 360, 0], scale: [1, 1, 1] },
        mesh: box ? { shape: 'box', size: [0.8, 0.8, 0.8] } : { shape: 'sphere', radius: 0.4 },
        material: { color: `#${(((i * 2654435761) >>> 8) & 0xffffff).toString(16).padStart(6, '0')}`, roughness: 0.7, metalness: 0.1 },
        rigidBody: { type: 'dynamic', mass: 5 + (i % 11), allowSleep: false },
        collider: box ? { shape: 'box', size: [0.8, 0.8, 0.8], friction: 0.4 } : { shape: 'sphere', radius: 0.4, friction: 0.4 },
        script: { module: 'scripts/mover.js', props: { seed: i + 1, speed: 2 + (i % 5) * 0.5, bounds: 16, retarget: 4 } },
      },
    });
  }
  const scene = { ...arena, name: 'bench-arena', entities: [...arena.entities, ...movers] };
  delete scene.$schema;
  const file = join(dir, 'bench-arena.json');
  writeFileSync(file, `${JSON.stringify(scene, null, 2)}\n`);
  return { file, entities: scene.entities.length, movers: MOVERS };
}
