import type { Components, EntityDocument, SceneDocument } from '../scene/schema.js';
import { composePose, quatFromEulerDeg, type Quat, type Vec3 } from '../math/vec.js';

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
  /** A component was set or removed (then `entity.components[component]` is undefined). */
  | { type: 'changed'; entity: Entity; component: keyof Components }
  /**
   * The world moved the entity to follow its parent or its new local transform (after a parent
   * moved, a `transform` change or a reparent); physics teleports the entity's body to match.
   */
  | { type: 'posed'; entity: Entity }
  | { type: 'reparented'; entity: Entity; previousParent: string | null }
  /** `name` or `tags` changed. */
  | { type: 'relabelled'; entity: Entity };

/**
 * The set of entities of one running scene: a plain value owned by one simulation. Structural
 * changes (add, remove, component edits, reparenting) are announced to listeners so physics,
 * scripts and views follow without the world knowing about them.
 *
 * The hierarchy holds live: an entity's pose is its parent's pose composed with its local
 * `transform`, so when a parent moves (physics, a script, an edit) its children move with it.
 * Children with a dynamic rigid body are the exception: physics moves them on their own.
 */
export class World {
  private entities = new Map<string, Entity>();
  private readonly childIds = new Map<string, Set<string>>();
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
    if (entity.parent) this.linkChild(entity.parent, entity.id);
    this.emit({ type: 'added', entity });
    return entity;
  }

  /** Removes an entity and its descendants (children first). */
  remove(id: string): boolean {
    const entity = this.entities.get(id);
    if (!entity) return false;
    for (const childId of [...(this.childIds.get(id) ?? [])]) this.remove(childId);
    this.entities.delete(id);
    this.childIds.delete(id);
    if (entity.parent) this.childIds.get(entity.parent)?.delete(id);
    this.emit({ type: 'removed', entity });
    return true;
  }

  /** Ids of the entity's direct children. */
  children(id: string): string[] {
    return [...(this.childIds.get(id) ?? [])];
  }

  /** Sets the live world pose; children that follow their parent move with it. */
  setPose(entity: Entity, position: Vec3, rotation?: Quat): void {
    entity.position = position;
    if (rotation) entity.rotation = rotation;
    entity.version++;
    const kids = this.childIds.get(entity.id);
    if (kids !== undefined && kids.size > 0) this.poseChildren(entity, 0);
  }

  /** Replaces one component's data, e.g. a script changing a material colour. A new `transform` moves the entity (and its children). */
  setComponent<K extends keyof Components>(entity: Entity, name: K, value: Components[K]): void {
    entity.components = { ...entity.components, [name]: value };
    entity.version++;
    entity.componentVersion++;
    if (name === 'transform') this.reposition(entity);
    this.emit({ type: 'changed', entity, component: name });
  }

  /** Removes one component; removing `transform` puts the entity at its parent's origin. */
  removeComponent(entity: Entity, name: keyof Components): void {
    if (entity.components[name] === undefined) return;
    const { [name]: _removed, ...rest } = entity.components;
    entity.components = rest;
    entity.version++;
    entity.componentVersion++;
    if (name === 'transform') this.reposition(entity);
    this.emit({ type: 'changed', entity, component: name });
  }

  /**
   * Gives an entity a new parent (null: none). Its local transform is kept, so it moves to the
   * same place relative to the new parent; to keep its world pose, set a new `transform` after
   * (the scene edit `reparent` does). Throws on an unknown parent or a cycle.
   */
  reparent(entity: Entity, parentId: string | null): void {
    const previousParent = entity.parent;
    if (parentId === previousParent) return;
    if (parentId !== null) {
      if (!this.entities.has(parentId)) throw new Error(`entity "${entity.id}": parent "${parentId}" does not exist`);
      for (let cur: string | null = parentId, n = 0; cur !== null && n <= this.entities.size; cur = this.entities.get(cur)?.parent ?? null, n++) {
        if (cur === entity.id) throw new Error(`entity "${entity.id}" cannot become a child of its own descendant "${parentId}"`);
      }
    }
    if (previousParent) this.childIds.get(previousParent)?.delete(entity.id);
    if (parentId) this.linkChild(parentId, entity.id);
    entity.parent = parentId;
    entity.version++;
    this.emit({ type: 'reparented', entity, previousParent });
    this.reposition(entity);
  }

  /** Changes name and tags (what scripts find entities by). */
  relabel(entity: Entity, name: string, tags: readonly string[]): void {
    entity.name = name;
    entity.tags = [...tags];
    this.emit({ type: 'relabelled', entity });
  }

  /** Puts the listed entities first, in that order; the others keep their order after them. Order has no meaning to physics; scripts run in it. */
  setOrder(ids: readonly string[]): void {
    const next = new Map<string, Entity>();
    for (const id of ids) {
      const e = this.entities.get(id);
      if (e) next.set(id, e);
    }
    for (const [id, e] of this.entities) if (!next.has(id)) next.set(id, e);
    this.entities = next;
  }

  /** Moves the entity to where its parent and local transform put it, then its children. */
  private reposition(entity: Entity): void {
    const [p, q] = this.composePose(entity.parent, entity.components);
    entity.position = p;
    entity.rotation = q;
    entity.version++;
    this.emit({ type: 'posed', entity });
    this.poseChildren(entity, 0);
  }

  private poseChildren(parent: Entity, depth: number): void {
    const kids = this.childIds.get(parent.id);
    if (kids === undefined || depth > this.entities.size) return;
    for (const id of kids) {
      const child = this.entities.get(id)!;
      if (child.components.rigidBody?.type === 'dynamic') continue; // simulated on its own
      const [p, q] = this.composePose(parent.id, child.components);
      child.position = p;
      child.rotation = q;
      child.version++;
      this.emit({ type: 'posed', entity: child });
      this.poseChildren(child, depth + 1);
    }
  }

  private linkChild(parentId: string, childId: string): void {
    let set = this.childIds.get(parentId);
    if (!set) this.childIds.set(parentId, (set = new Set()));
    set.add(childId);
  }

  private composePose(parentId: string | null, c: Components): [Vec3, Quat] {
    const local = c.transform;
    const lp: Vec3 = local ? [...local.position] : [0, 0, 0];
    const lq = quatFromEulerDeg(local ? local.rotation : [0, 0, 0]);
    const parent = parentId ? this.entities.get(parentId) : undefined;
    if (!parent) return [lp, lq];
    return composePose(parent.position, parent.rotation, lp, lq);
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
