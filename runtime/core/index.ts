/**
 * keel's platform-neutral core: scene format, world, physics, scripts, loop and network seams.
 * It imports neither `node:*` nor the DOM nor three.js (checked by test/architecture.test.ts).
 */
export * from './run-mode.js';
export * from './log.js';
export * from './math/vec.js';
export type * from './scene/schema.js';
export * from './scene/format.js';
export * from './scene/validate.js';
export * from './scene/paths.js';
export * from './world/world.js';
export * from './physics/physics.js';
export * from './physics/heightfield.js';
export { createCannonPhysics } from './physics/cannon-physics.js';
export * from './physics/load-physics.js';
export * from './scripts/script.js';
export { ScriptHost } from './scripts/script-host.js';
export * from './sim/simulation.js';
export * from './loop/fixed-step-loop.js';
export * from './loop/rolling-stats.js';
export * from './loop/manual-clock.js';
export * from './net/transport.js';
export * from './protocol/codec.js';
export * from './protocol/messages.js';
export * from './protocol/admin.js';
export * from './net/replication.js';
export * from './net/players.js';
export * from './net/client-mirror.js';
// Scene edits (the inspector model and the canonical writer read the schema definition, so they
// are imported by path: runtime/core/edit/inspector.js, runtime/core/scene/canonical.js).
export * from './edit/scene-edit.js';
export * from './edit/live-edit.js';
export * from './edit/history.js';
export { parsePointer, formatPointer, sameJson } from './edit/pointer.js';
// Run modes as compositions of named plugins over one core.
export * from './app/app.js';
export * from './app/plugins.js';
export * from './net/client-transport.js';
export * from './net/memory-transport.js';
export * from './net/game-client.js';
export * from './net/predictor.js';
export * from './net/game-session.js';
