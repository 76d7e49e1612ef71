const core = await import('./dist/runtime/core/index.js');
const { loadSceneFile } = await import('./dist/runtime/node/scene-loader.js');
const { AssetRoot } = await import('./dist/runtime/node/assets.js');
const ph = process.argv[2];
const scene = await loadSceneFile(process.cwd() + '/scenes/arena.json', new AssetRoot(process.cwd() + '/scenes'), 'server');
const log = { debug() {}, info() {}, warn() {}, error() {}, fatal() {}, child() { return log; } };
const sim = new core.Simulation({ scene: scene.doc, mode: 'server', logger: log, scripts: scene.scripts, heightfields: scene.heightfields, physics: await core.loadPhysics(ph) });
const d = [];
for (let i = 1; i <= 300; i++) { const s = performance.now(); sim.tick(1 / 60, i); d.push(performance.now() - s); }
const big = d.map((v, i) => [i + 1, v]).filter(([, v]) => v > 50).map(([i, v]) => `${i}:${v.toFixed(0)}`);
console.log(ph, 'total', d.reduce((a, b) => a + b).toFixed(0), 'ms; ticks > 50 ms:', big.join(' '));
