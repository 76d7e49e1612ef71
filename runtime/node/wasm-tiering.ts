import { setFlagsFromString } from 'node:v8';

/**
 * Keeps V8 from re-compiling WebAssembly with its optimising tier while the game loop runs.
 * V8 first compiles WASM with its baseline compiler (Liftoff) and later recompiles hot
 * functions with TurboFan; for Rapier's 3 MB module that recompilation held the game thread for
 * 4-7 s on a busy 2-core machine a few seconds after start (measured: `loop fell 6994 ms behind`,
 * and the watchdog fired), where without it no tick was later than 150 ms. Baseline code steps
 * as fast within the noise of that machine (1000 boxes: 34-36 ms against 30-32 ms p50). The flag
 * is process-wide and must be set before the module is compiled, so before `loadPhysics('rapier')`.
 * Only Rapier uses WebAssembly in the server.
 */
export function disableWasmTierUp(): void {
  setFlagsFromString('--no-wasm-tier-up');
}
