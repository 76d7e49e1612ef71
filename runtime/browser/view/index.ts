/**
 * The three.js view of a core World, shared by the client and the editor: `WorldView` builds
 * and poses objects from components, `createRenderer` sets up WebGL the way the view expects.
 */
export { WorldView, type WorldViewOptions } from './world-view.js';
export { MeshBatch, type InstanceVisibility } from './mesh-batch.js';
export { GeometryCache, standardMaterial, terrainGeometry } from './geometry.js';
export { buildLight, DIRECTIONAL_SHADOW_EXTENT } from './lights.js';
export { applyEnvironment, DEFAULT_ENVIRONMENT, type EnvironmentSettings } from './environment.js';
export { createRenderer, resizeToDisplay, type RendererOptions } from './renderer.js';
export { loadGlb } from './models.js';
export { CameraStamp } from './camera-stamp.js';
export { ACTIVE_LAYER, LayeredDraw, type DrawKind, type LayeredFrame } from './layered-draw.js';
export { InteractionQuality, type InteractionQualityOptions, type QualityTarget } from './interaction-quality.js';
