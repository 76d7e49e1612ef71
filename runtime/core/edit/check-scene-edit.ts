import type { SceneEdit } from './scene-edit.js';

/** Whether a value is shaped like a {@link SceneEdit} (for edits that arrive as JSON); says why not. */
export function checkSceneEdit(value: unknown, where = 'edit'): string | null {
  if (typeof value !== 'object' || value === null) return `${where} must be an object`;
  const e = value as Record<string, unknown>;
  const str = (k: string) => typeof e[k] === 'string';
  const optEntity = e.entity === undefined || str('entity');
  const before = e.before === undefined || e.before === null || str('before');
  switch (e.op) {
    case 'set':
    case 'insert':
      return optEntity && str('path') && 'value' in e && e.value !== undefined ? null : `${where}: ${e.op} needs path, value and optionally entity`;
    case 'unset':
      return optEntity && str('path') ? null : `${where}: unset needs path and optionally entity`;
    case 'add':
      return typeof e.entity === 'object' && e.entity !== null && typeof (e.entity as { id?: unknown }).id === 'string' && before
        ? null
        : `${where}: add needs an entity with an id`;
    case 'remove':
      return str('entity') ? null : `${where}: remove needs entity`;
    case 'reparent':
      return str('entity') && (e.parent === null || str('parent')) && before && (e.keepWorldPose === undefined || typeof e.keepWorldPose === 'boolean')
        ? null
        : `${where}: reparent needs entity and parent (an id or null)`;
    case 'reorder':
      return str('entity') && 'before' in e && before ? null : `${where}: reorder needs entity and before (an id or null)`;
    case 'batch': {
      if (!Array.isArray(e.edits)) return `${where}: batch needs edits`;
      for (let i = 0; i < e.edits.length; i++) {
        const why = checkSceneEdit(e.edits[i], `${where}.edits[${i}]`);
        if (why) return why;
      }
      return null;
    }
    default:
      return `${where}: unknown op ${JSON.stringify(e.op)}`;
  }
}

/** The ids of the entities an edit names (targets, added ids, new parents), for selection and merging. */
export function editedEntities(edit: SceneEdit): string[] {
  switch (edit.op) {
    case 'set':
    case 'insert':
    case 'unset':
      return edit.entity === undefined ? [] : [edit.entity];
    case 'add':
      return [edit.entity.id];
    case 'remove':
    case 'reorder':
    case 'reparent':
      return [edit.entity];
    case 'batch':
      return [...new Set(edit.edits.flatMap(editedEntities))];
  }
}
