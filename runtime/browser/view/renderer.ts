import * as THREE from 'three';

export interface RendererOptions {
  canvas: HTMLCanvasElement;
  /** Shadow maps (on by default). */
  shadows?: boolean;
  antialias?: boolean;
}

/** A WebGL renderer configured as the view expects: sRGB output, neutral tone mapping, shadow maps. */
export function createRenderer(opts: RendererOptions): THREE.WebGLRenderer {
  const renderer = new THREE.WebGLRenderer({ canvas: opts.canvas, antialias: opts.antialias ?? true, powerPreference: 'high-performance' });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio, 2));
  renderer.outputColorSpace = THREE.SRGBColorSpace;
  // Neutral tone mapping keeps scene colours close to the hex values the file gives.
  renderer.toneMapping = THREE.NeutralToneMapping;
  renderer.shadowMap.enabled = opts.shadows ?? true;
  renderer.shadowMap.type = THREE.PCFShadowMap;
  // Counted per frame by the caller (draw-call figures cover shadow passes too).
  renderer.info.autoReset = false;
  return renderer;
}

/** Matches the drawing buffer to the canvas's CSS size; returns true when it changed. */
export function resizeToDisplay(renderer: THREE.WebGLRenderer, camera: THREE.PerspectiveCamera): boolean {
  const canvas = renderer.domElement;
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  const size = renderer.getSize(new THREE.Vector2());
  const changed = size.x !== w || size.y !== h;
  if (changed && w > 0 && h > 0) renderer.setSize(w, h, false);
  if (h > 0 && camera.aspect !== w / h) {
    camera.aspect = w / h;
    camera.updateProjectionMatrix();
  }
  return changed;
}
