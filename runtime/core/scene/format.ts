/** The format tag and current version of scene files. Kept apart from schema.ts so runtime code can read them without loading the schema builder. */
export const SCENE_FORMAT = 'keel-scene';
export const SCENE_VERSION = 1;
