import * as THREE from 'three';

/**
 * What surrounds a scene: the scene file's `settings.environment` (see the scene schema). Every
 * part is optional; a scene without one gets a neutral sky.
 */
export interface EnvironmentSettings {
  /** Plain background colour, #rrggbb. Ignored when `sky` is set. */
  background?: string;
  /** Vertical gradient behind everything: `top` at the zenith, `bottom` at the horizon. */
  sky?: { top: string; bottom: string };
  /** Linear fog from `near` to `far` metres. */
  fog?: { color: string; near: number; far: number };
  /** Ambient light added to the scene's own lights. */
  ambient?: { color: string; intensity: number };
}

export const DEFAULT_ENVIRONMENT: EnvironmentSettings = { sky: { top: '#5b8fc9', bottom: '#dfe9f3' }, ambient: { color: '#dfe9f3', intensity: 0.6 } };

/** Applies an environment to a three.js scene; returns a function that undoes it. */
export function applyEnvironment(scene: THREE.Scene, env: EnvironmentSettings | undefined): () => void {
  const e = env ?? DEFAULT_ENVIRONMENT;
  const disposables: { dispose(): void }[] = [];
  if (e.sky) {
    const texture = gradientTexture(e.sky.top, e.sky.bottom);
    disposables.push(texture);
    scene.background = texture;
  } else if (e.background) scene.background = new THREE.Color(e.background);
  else scene.background = null;
  scene.fog = e.fog ? new THREE.Fog(new THREE.Color(e.fog.color), e.fog.near, e.fog.far) : null;
  let ambient: THREE.AmbientLight | null = null;
  if (e.ambient) {
    ambient = new THREE.AmbientLight(new THREE.Color(e.ambient.color), e.ambient.intensity);
    ambient.name = 'environment ambient';
    scene.add(ambient);
  }
  return () => {
    scene.background = null;
    scene.fog = null;
    if (ambient) scene.remove(ambient);
    for (const d of disposables) d.dispose();
  };
}

/** A 1×64 texture from top to bottom colour, stretched over the screen as the background. */
function gradientTexture(top: string, bottom: string): THREE.DataTexture {
  const h = 64;
  const data = new Uint8Array(h * 4);
  const a = new THREE.Color(top);
  const b = new THREE.Color(bottom);
  const c = new THREE.Color();
  for (let y = 0; y < h; y++) {
    // DataTexture rows run bottom-up: row 0 is the bottom of the screen.
    c.copy(b).lerp(a, y / (h - 1));
    const rgb = c.getRGB(new THREE.Color(), THREE.SRGBColorSpace);
    data.set([Math.round(rgb.r * 255), Math.round(rgb.g * 255), Math.round(rgb.b * 255), 255], y * 4);
  }
  const t = new THREE.DataTexture(data, 1, h, THREE.RGBAFormat);
  t.colorSpace = THREE.SRGBColorSpace;
  t.magFilter = THREE.LinearFilter;
  t.needsUpdate = true;
  return t;
}
