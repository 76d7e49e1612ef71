import type * as THREE from 'three';
import { CSS2DObject, CSS2DRenderer } from 'three/examples/jsm/renderers/CSS2DRenderer.js';
import type { WorldView } from '../view/world-view.js';
import type { ConnectedPlay } from './connected-play.js';

/** Metres above a player's origin where its label floats. */
const LABEL_HEIGHT = 1.45;

/**
 * Name labels over the other players, as HTML elements placed by three's CSS2DRenderer and
 * attached to the players' anchors in the view (an overlay: the world knows nothing of them).
 * A player is labelled by the name it joined with, as the server replicates it (the entity id
 * when it gave none).
 */
export class NameLabels {
  private readonly renderer = new CSS2DRenderer();
  private readonly labels = new Map<string, { object: CSS2DObject; anchor: THREE.Object3D }>();

  constructor(
    private readonly view: WorldView,
    private readonly session: ConnectedPlay,
    container: HTMLElement,
  ) {
    this.renderer.domElement.className = 'keel-labels';
    container.append(this.renderer.domElement);
  }

  /** Adds and removes labels to match the players present, then draws them for `camera`. */
  render(camera: THREE.Camera): void {
    const own = this.session.ownEntityId;
    const present = new Set<string>();
    for (const e of this.session.world.values()) {
      if (!e.id.startsWith('player-') || e.id === own) continue;
      present.add(e.id);
      const anchor = this.view.anchorOf(e.id);
      const had = this.labels.get(e.id);
      if (had && had.anchor === anchor) {
        if (had.object.element.textContent !== e.name) had.object.element.textContent = e.name;
        continue;
      }
      if (had) had.anchor.remove(had.object);
      if (!anchor) continue;
      const div = document.createElement('div');
      div.className = 'keel-label';
      div.textContent = e.name;
      const object = new CSS2DObject(div);
      object.position.set(0, LABEL_HEIGHT, 0);
      anchor.add(object);
      this.labels.set(e.id, { object, anchor });
    }
    for (const [id, l] of this.labels) {
      if (present.has(id)) continue;
      l.anchor.remove(l.object);
      l.object.element.remove();
      this.labels.delete(id);
    }
    const el = this.renderer.domElement.parentElement;
    const w = el?.clientWidth ?? 0;
    const h = el?.clientHeight ?? 0;
    const size = this.renderer.getSize();
    if (size.width !== w || size.height !== h) this.renderer.setSize(w, h);
    this.renderer.render(this.view.scene, camera);
  }

  dispose(): void {
    for (const l of this.labels.values()) {
      l.anchor.remove(l.object);
      l.object.element.remove();
    }
    this.labels.clear();
    this.renderer.domElement.remove();
  }
}
