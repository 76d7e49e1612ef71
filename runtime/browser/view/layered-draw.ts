import * as THREE from 'three';
import { CameraStamp } from './camera-stamp.js';

/**
 * The three.js layer of what moves between frames of a layered draw: an editor's dragged
 * entities, its gizmo and selection overlays. Everything else stays on layer 0.
 */
export const ACTIVE_LAYER = 1;
const STATIC_MASK = 1;
const ACTIVE_MASK = 1 << ACTIVE_LAYER;

/** What a layered frame is drawn from. */
export interface LayeredFrame {
  /**
   * Changes whenever anything on layer 0 changes (an entity placed, built or removed, the
   * environment, a static overlay). The camera and the drawing size are checked here.
   */
  revision: string;
  /** Subtrees drawn with the moving things, whatever their objects' own layers say. */
  activeRoots?: readonly THREE.Object3D[];
}

/** How a frame was drawn: all at once, the static layer drawn anew then the moving things over it, or the kept static layer with the moving things over it. */
export type DrawKind = 'direct' | 'static' | 'composite';

/**
 * Layered drawing for a still camera. What does not move (layer 0) is drawn once into an
 * offscreen colour and depth target; each frame then copies it to the screen, depth included,
 * and draws only what moves (`ACTIVE_LAYER`) over it, depth-tested against the copy. A gizmo
 * drag then costs a screen copy plus the dragged entities, however large the scene: on a weak
 * GPU or software WebGL that is the difference between a few and a few hundred milliseconds
 * a frame.
 *
 * The static layer is drawn anew when its revision, the camera or the drawing size changes.
 * Shadows come from that draw: every light's shadow camera sees both layers, so moving things
 * cast their shadows as they were when the layer was drawn, and the caller redraws it
 * (`invalidate`) once they have moved. Depth-sorted transparency is per layer: a moving opaque
 * object is drawn over a static transparent one in front of it until the layer is redrawn.
 */
export class LayeredDraw {
  /**
   * The static layer as the screen would show it (tone mapped, encoded, blended as on the
   * screen) and its depth, multisampled like the canvas.
   */
  private target: THREE.WebGLRenderTarget | null = null;
  private readonly quad: THREE.Mesh<THREE.PlaneGeometry, THREE.ShaderMaterial>;
  private readonly quadScene = new THREE.Scene();
  private readonly quadCamera = new THREE.OrthographicCamera(-1, 1, 1, -1, 0, 1);
  private drawnRevision: string | null = null;
  private readonly drawnCamera = new CameraStamp();
  private readonly size = new THREE.Vector2();
  /** Static layers drawn since creation (tests and benches read it). */
  staticDraws = 0;
  /** Whether a light of the last static layer casts shadows (they are drawn with that layer only). */
  hasShadows = false;

  constructor(private readonly renderer: THREE.WebGLRenderer) {
    const copy = new THREE.ShaderMaterial({
      name: 'static layer copy',
      uniforms: { tPicture: { value: null }, tDepth: { value: null } },
      vertexShader: 'void main() {\n  gl_Position = vec4(position.xy, 0.0, 1.0);\n}',
      fragmentShader: [
        'uniform sampler2D tPicture;',
        'uniform sampler2D tDepth;',
        'void main() {',
        '  ivec2 p = ivec2(gl_FragCoord.xy);',
        '  gl_FragColor = texelFetch(tPicture, p, 0);',
        '  gl_FragDepth = texelFetch(tDepth, p, 0).x;',
        '}',
      ].join('\n'),
      // Depth is written only while the depth test is on: it is on, and always passes.
      depthTest: true,
      depthFunc: THREE.AlwaysDepth,
      depthWrite: true,
      toneMapped: false,
    });
    this.quad = new THREE.Mesh(new THREE.PlaneGeometry(2, 2), copy);
    this.quad.frustumCulled = false;
    this.quadScene.add(this.quad);
  }

  /** Whether a layered frame now would reuse the kept static layer (nothing static changed, the camera is still). */
  isCurrent(camera: THREE.Camera, revision: string): boolean {
    if (!this.target || this.drawnRevision !== revision) return false;
    this.renderer.getDrawingBufferSize(this.size);
    if (this.size.x !== this.target.width || this.size.y !== this.target.height) return false;
    return this.drawnCamera.matches(camera);
  }

  /** Forgets the kept static layer: the next layered frame draws it anew. */
  invalidate(): void {
    this.drawnRevision = null;
  }

  /** Draws both layers at once (whatever moves or not), as a plain render. */
  drawDirect(scene: THREE.Scene, camera: THREE.Camera): DrawKind {
    const mask = camera.layers.mask;
    camera.layers.mask = STATIC_MASK | ACTIVE_MASK;
    try {
      this.renderer.render(scene, camera);
    } finally {
      camera.layers.mask = mask;
    }
    return 'direct';
  }

  /** Draws a layered frame: the static layer anew when it is stale, then the copy and the moving things. */
  drawLayered(scene: THREE.Scene, camera: THREE.Camera, frame: LayeredFrame): DrawKind {
    const r = this.renderer;
    const kind = this.isCurrent(camera, frame.revision) ? 'composite' : 'static';
    const mask = camera.layers.mask;
    const autoClear = r.autoClear;
    const shadowNeeds = r.shadowMap.needsUpdate;
    try {
      for (const root of frame.activeRoots ?? []) root.traverse((o) => o.layers.set(ACTIVE_LAYER));
      if (kind === 'static') this.drawStatic(scene, camera, frame.revision);
      // The copy: the static layer's pixels and depth.
      r.autoClear = true;
      r.render(this.quadScene, this.quadCamera);
    } finally {
      camera.layers.mask = mask;
      r.autoClear = autoClear;
    }
    // The active roots are on the active layer already.
    this.drawActive(scene, camera);
    // A shadow redraw asked for was done by the static draw, or waits for the next one.
    r.shadowMap.needsUpdate = shadowNeeds && kind !== 'static';
    return kind;
  }

  /**
   * Draws only what moves, lit by the scene's lights, over what the screen holds, with the
   * shadow map the static layer drew (a layered frame's last step; also a way to draw the
   * moving things once ahead of need, under a frame that then covers them).
   */
  drawActive(scene: THREE.Scene, camera: THREE.Camera, activeRoots: readonly THREE.Object3D[] = []): void {
    const r = this.renderer;
    for (const root of activeRoots) root.traverse((o) => o.layers.set(ACTIVE_LAYER));
    const mask = camera.layers.mask;
    const autoClear = r.autoClear;
    const background = scene.background;
    const shadowAuto = r.shadowMap.autoUpdate;
    const shadowNeeds = r.shadowMap.needsUpdate;
    r.autoClear = false;
    scene.background = null;
    r.shadowMap.autoUpdate = false;
    r.shadowMap.needsUpdate = false;
    camera.layers.mask = ACTIVE_MASK;
    try {
      r.render(scene, camera);
    } finally {
      camera.layers.mask = mask;
      r.autoClear = autoClear;
      scene.background = background;
      r.shadowMap.autoUpdate = shadowAuto;
      r.shadowMap.needsUpdate = shadowNeeds;
    }
  }

  dispose(): void {
    this.target?.dispose();
    this.target?.depthTexture?.dispose();
    this.target = null;
    this.quad.geometry.dispose();
    this.quad.material.dispose();
  }

  private drawStatic(scene: THREE.Scene, camera: THREE.Camera, revision: string): void {
    const r = this.renderer;
    r.getDrawingBufferSize(this.size);
    const w = Math.max(1, this.size.x);
    const h = Math.max(1, this.size.y);
    if (!this.target) {
      const samples = r.getContext().getContextAttributes()?.antialias ? 4 : 0;
      this.target = new THREE.WebGLRenderTarget(w, h, { samples, depthTexture: new THREE.DepthTexture(w, h) });
      // Three draws into a target in linear colour and leaves tone mapping and the output
      // encoding to the screen, unless the target is flagged as an output (as its WebXR targets
      // are): then it draws exactly what a draw on the screen would, blending included. The copy
      // passes those pixels on untouched.
      this.target.texture.colorSpace = r.outputColorSpace;
      // Plain 8-bit storage for the encoded values, multisampled buffer and texture alike.
      this.target.texture.internalFormat = 'RGBA8';
      (this.target as THREE.WebGLRenderTarget & { isXRRenderTarget: boolean }).isXRRenderTarget = true;
      this.quad.material.uniforms.tPicture!.value = this.target.texture;
      this.quad.material.uniforms.tDepth!.value = this.target.depthTexture;
    } else if (this.target.width !== w || this.target.height !== h) this.target.setSize(w, h);
    // Lights light both layers; shadow cameras see both layers (moving things cast shadows too).
    let shadows = false;
    scene.traverse((o) => {
      if (!(o instanceof THREE.Light)) return;
      o.layers.enable(ACTIVE_LAYER);
      const shadow = (o as THREE.Light & { shadow?: THREE.LightShadow }).shadow;
      if (o.castShadow && shadow) {
        shadow.camera.layers.mask = STATIC_MASK | ACTIVE_MASK;
        shadows = true;
      }
    });
    this.hasShadows = shadows;
    const previous = r.getRenderTarget();
    camera.layers.mask = STATIC_MASK;
    r.setRenderTarget(this.target);
    try {
      r.render(scene, camera);
    } finally {
      r.setRenderTarget(previous);
    }
    this.drawnCamera.record(camera);
    this.drawnRevision = revision;
    this.staticDraws++;
  }
}
