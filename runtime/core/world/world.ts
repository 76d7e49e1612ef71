import type { Components, EntityDocument, SceneDocument } from '../scene/schema.js';
import { quatFromEulerDeg, quatMultiply, rotateVec, type Quat, type Vec3 } from '../math/vec.js';

/**
 * One live entity. `components` is the scene's data (defaults applied); `position` and
 * `rotation` are the live world-space pose that physics and scripts move.
 */
export interface Entity {
  readonly id: string;
  name: string;
  parent: string | null;
  tags: string[];
  components: Components;
  position: Vec3;
  rotation: Quat;
  /** Bumped on every change of pose or components; replication compares it per client. */
  version: number;
  /** Bumped when a component's data is replaced (clients rebuild the entity). */
  componentVersion: number;
}

export type WorldEvent =
  | { type: 'added'; entity: Entity }
  | { type: 'removed'; entity: Entity }
  | { type: 'changed'; entity: Entity; component: keyof Components | 'transform' };

/**
 * The set of entities of one running scene: a plain value owned by one simulation. Structural
 * changes (add, remove, component edits) are announced to listeners so physics, scripts and
 * views follow without the world knowing about them.
 */
export class World {
  private readonly entities = new Map<string, Entity>();
  private readonly listeners = new Set<(e: WorldEvent) => void>();

  get size(): number {
    return this.entities.size;
  }

  get(id: string): Entity | undefined {
    return this.entities.get(id);
  }

  values(): IterableIterator<Entity> {
    return this.entities.values();
  }

  on(listener: (e: WorldEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: WorldEvent): void {
    for (const l of this.listeners) l(e);
  }

  /** Adds an entity from its document; its pose is its transform composed with its parent's. */
  add(doc: EntityDocument): Entity {
    if (this.entities.has(doc.id)) throw new Error(`entity "${doc.id}" already exists`);
    if (doc.parent && !this.entities.has(doc.parent)) throw new Error(`entity "${doc.id}": parent "${doc.parent}" does not exist`);
    const [position, rotation] = this.composePose(doc.parent ?? null, doc.components);
    const entity: Entity = {
      id: doc.id,
      name: doc.name ?? doc.id,
      parent: doc.parent ?? null,
      tags: doc.tags ? [...doc.tags] : [],
      components: doc.components,
      position,
      rotation,
      version: 1,
      componentVersion: 1,
    };
    this.entities.set(entity.id, entity);
    this.emit({ type: 'added', entity });
    return entity;
  }

  /** Removes an entity and its descendants (children first). */
  remove(id: string): boolean {
    const entity = this.entities.get(id);
    if (!entity) return false;
    for (const child of [...this.entities.values()]) if (child.parent === id) this.remove(child.id);
    this.entities.delete(id);
    this.emit({ type: 'removed', entity });
    return true;
  }

  setPose(entity: Entity, position: Vec3, rotation?: Quat): void {
    entity.position = position;
    if (rotation) entity.rotation = rotation;
    entity.version++;
  }

  /** Replaces one component's data, e.g. a script changing a material colour. */
  setComponent<K extends keyof Components>(entity: Entity, name: K, value: Components[K]): void {
    entity.components = { ...entity.components, [name]: value };
    entity.version++;
    entity.componentVersion++;
    this.emit({ type: 'changed', entity, component: name });
  }

  private composePose(parentId: string | null, c: Components): [Vec3, Quat] {
    const local = c.transform;
    const lp: Vec3 = local ? [...local.position] : [0, 0, 0];
    const lq = quatFromEulerDeg(local ? local.rotation : [0, 0, 0]);
    const parent = parentId ? this.entities.get(parentId) : undefined;
    if (!parent) return [lp, lq];
    const offset = rotateVec(parent.rotation, lp);
    return [[parent.position[0] + offset[0], parent.position[1] + offset[1], parent.position[2] + offset[2]], quatMultiply(parent.rotation, lq)];
  }
}

/** Builds a world from a validated scene. Parents are created before children whatever the file order. */
export function worldFromScene(scene: SceneDocument): World {
  const world = new World();
  for (const doc of parentsFirst(scene.entities)) world.add(doc);
  return world;
}

/** Orders entities so that each comes after its parent (the loader has already rejected cycles). */
export function parentsFirst(entities: readonly EntityDocument[]): EntityDocument[] {
  const byId = new Map(entities.map((e) => [e.id, e]));
  const out: EntityDocument[] = [];
  const placed = new Set<string>();
  const place = (e: EntityDocument, depth: number): void => {
    if (placed.has(e.id)) return;
    if (depth > entities.length) throw new Error(`parent cycle at entity "${e.id}"`);
    const parent = e.parent ? byId.get(e.parent) : undefined;
    if (parent) place(parent, depth + 1);
    placed.add(e.id);
    out.push(e);
  };
  for (const e of entities) place(e, 0);
  return out;
}
