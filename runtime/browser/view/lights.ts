import * as THREE from 'three';
import type { LightComponent } from '../../core/index.js';

/** Half the side of the square a shadow-casting directional light covers, metres. */
export const DIRECTIONAL_SHADOW_EXTENT = 30;

/**
 * A three.js light for a light component, posed by its entity's anchor. Directional and spot
 * lights shine along the entity's -Z (as cameras look), through a target that is the anchor's
 * child, so rotating the entity aims the light.
 */
export function buildLight(c: LightComponent): THREE.Light {
  const color = new THREE.Color(c.color);
  switch (c.kind) {
    case 'ambient':
      return new THREE.AmbientLight(color, c.intensity);
    case 'hemisphere':
      return new THREE.HemisphereLight(color, new THREE.Color('#3a3f47'), c.intensity);
    case 'point': {
      const light = new THREE.PointLight(color, c.intensity, c.range);
      if (c.castShadow) shadows(light, 1024);
      return light;
    }
    case 'spot': {
      const light = new THREE.SpotLight(color, c.intensity, c.range, Math.PI / 6, 0.3);
      aim(light);
      if (c.castShadow) shadows(light, 1024);
      return light;
    }
    case 'directional': {
      const light = new THREE.DirectionalLight(color, c.intensity);
      aim(light);
      if (c.castShadow) {
        shadows(light, 1024);
        const cam = light.shadow.camera;
        cam.left = cam.bottom = -DIRECTIONAL_SHADOW_EXTENT;
        cam.right = cam.top = DIRECTIONAL_SHADOW_EXTENT;
        cam.near = 0.5;
        cam.far = 200;
        cam.updateProjectionMatrix();
      }
      return light;
    }
  }
}

function aim(light: THREE.DirectionalLight | THREE.SpotLight): void {
  light.target.position.set(0, 0, -1);
  light.add(light.target);
}

function shadows(light: THREE.PointLight | THREE.SpotLight | THREE.DirectionalLight, size: number): void {
  light.castShadow = true;
  light.shadow.mapSize.set(size, size);
  light.shadow.bias = -0.0005;
  light.shadow.normalBias = 0.02;
}
