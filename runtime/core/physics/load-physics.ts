import { createCannonPhysics } from './cannon-physics.js';
import type { PhysicsFactory } from './physics.js';

/** The physics engines a scene may choose (`settings.physics`); cannon-es is the default and the reference. */
export const PHYSICS_BACKENDS = ['cannon', 'rapier'] as const;
export type PhysicsBackend = (typeof PHYSICS_BACKENDS)[number];
export const DEFAULT_PHYSICS: PhysicsBackend = 'cannon';

/**
 * The factory for a backend, ready to use: Rapier's WebAssembly is initialised here (once per
 * thread), so building and stepping a simulation stays synchronous. Rapier is imported only
 * when asked for, so a cannon scene never evaluates its 4 MB module.
 */
export async function loadPhysics(backend: PhysicsBackend): Promise<PhysicsFactory> {
  if (backend === 'rapier') return (await import('./rapier-physics.js')).loadRapierPhysics();
  return createCannonPhysics;
}
