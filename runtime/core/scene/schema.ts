/**
 * The scene format, defined once. From this file come the TypeScript types (`Static<>`), the
 * validator (compiled ahead of time by scripts/generate-schema.mjs into
 * scene-validator.generated.ts, so a server starts without compiling it) and the published
 * `scenes/keel-scene.schema.json`. A test fails when either generated file is stale.
 *
 * Runtime code imports only types from here; the schema builder is a build-time tool.
 */
import { Type, type Static, type TLiteral, type TObject, type TProperties } from '@sinclair/typebox';
import { SCENE_FORMAT, SCENE_VERSION } from './format.js';

export { SCENE_FORMAT, SCENE_VERSION };

// Annotations the editor's inspector reads (runtime/core/edit/inspector.ts); validators ignore them:
// `units` (shown beside a number), `control` ('color', 'asset', 'script': a picker instead of a text box).
const num = (opts: Record<string, unknown> = {}) => Type.Number(opts);
const Vec3 = (description: string, def?: [number, number, number], units?: string) =>
  Type.Tuple([num(), num(), num()], { description, ...(def ? { default: def } : {}), ...(units ? { units } : {}) });
const Vec2 = (description: string, def?: [number, number], units?: string) =>
  Type.Tuple([num(), num()], { description, ...(def ? { default: def } : {}), ...(units ? { units } : {}) });
const Positive = (description: string, def: number, units = 'm') => num({ exclusiveMinimum: 0, default: def, description, units });
const Unit = (description: string, def: number) => num({ minimum: 0, maximum: 1, default: def, description });
const Color = (def: string) =>
  Type.String({ pattern: '^#[0-9a-fA-F]{6}$', maxLength: 7, default: def, description: 'CSS hex color, #rrggbb', control: 'color' });

/** A string enum as JSON Schema `enum` (one clear error), typed as the union of its values. */
function Enum<const T extends readonly string[]>(values: T, opts: Record<string, unknown> = {}) {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...opts });
}

/** A path relative to the scene's asset root; the loader rejects paths that escape it. */
const AssetPath = (description: string, control: 'asset' | 'script' = 'asset') => Type.String({ minLength: 1, maxLength: 1024, description, control });

/**
 * A union tagged by one property. Ajv's `discriminator` keyword reports errors of the matching
 * branch only (and applies its defaults), instead of every branch of a plain `anyOf`.
 */
function Tagged<T extends TObject[]>(tag: string, variants: [...T], description: string) {
  return Type.Unsafe<Static<T[number]>>({
    type: 'object',
    description,
    required: [tag],
    discriminator: { propertyName: tag },
    oneOf: variants,
  });
}
function Variant<K extends string, P extends TProperties, C extends TProperties = {}>(value: K, props: P, common?: C) {
  return Type.Object({ shape: Type.Literal(value), ...common, ...props } as { shape: TLiteral<K> } & C & P, {
    additionalProperties: false,
  });
}

export const TransformSchema = Type.Object(
  {
    position: Vec3('Position relative to the parent, metres', [0, 0, 0], 'm'),
    rotation: Vec3('Euler angles relative to the parent, degrees, XYZ order', [0, 0, 0], '°'),
    scale: Vec3('Scale of the visual mesh (colliders keep their own size)', [1, 1, 1]),
  },
  { additionalProperties: false },
);

export const MeshSchema = Tagged(
  'shape',
  [
    Variant('box', { size: Vec3('Width, height, depth', [1, 1, 1], 'm') }),
    Variant('sphere', { radius: Positive('Radius', 0.5) }),
    Variant('cylinder', { radius: Positive('Radius', 0.5), height: Positive('Height', 1) }),
    Variant('capsule', { radius: Positive('Radius', 0.5), height: Positive('Height of the straight part', 1) }),
    Variant('plane', { size: Vec2('Width, depth', [10, 10], 'm') }),
    Variant('model', { asset: AssetPath('glTF binary (.glb) under the asset root; drawn by clients, ignored by the server') }),
  ],
  'Visual primitive or model',
);

export const MaterialSchema = Type.Object(
  {
    color: Color('#cccccc'),
    roughness: Unit('0 mirror-like, 1 matte', 0.8),
    metalness: Unit('0 dielectric, 1 metal', 0),
    opacity: Unit('1 opaque', 1),
  },
  { additionalProperties: false },
);

export const RigidBodySchema = Type.Object(
  {
    type: Enum(['static', 'dynamic', 'kinematic'], {
      default: 'static',
      description: 'static never moves, dynamic is simulated, kinematic is moved by scripts',
    }),
    mass: num({ minimum: 0, default: 1, description: 'kg; ignored unless dynamic', units: 'kg' }),
    linearDamping: Unit('Fraction of linear velocity lost per second', 0.01),
    angularDamping: Unit('Fraction of angular velocity lost per second', 0.01),
    fixedRotation: Type.Boolean({ default: false }),
    allowSleep: Type.Boolean({ default: true, description: 'Resting bodies stop costing CPU until touched' }),
  },
  { additionalProperties: false },
);

const colliderCommon = {
  offset: Vec3('Offset from the entity origin', [0, 0, 0], 'm'),
  friction: num({ minimum: 0, default: 0.4, description: 'Averaged with the other collider in a contact; 0 slides on everything' }),
  restitution: Unit('Bounciness, averaged with the other collider in a contact', 0.1),
  trigger: Type.Boolean({ default: false, description: 'Reports overlaps to scripts without pushing bodies' }),
};

export const ColliderSchema = Tagged(
  'shape',
  [
    Variant('box', { size: Vec3('Width, height, depth', [1, 1, 1], 'm') }, colliderCommon),
    Variant('sphere', { radius: Positive('Radius', 0.5) }, colliderCommon),
    Variant('cylinder', { radius: Positive('Radius', 0.5), height: Positive('Height', 1) }, colliderCommon),
    Variant('plane', {}, colliderCommon),
    Variant(
      'heightfield',
      {
        asset: AssetPath('Heightfield file (.khf) under the asset root'),
        elementSize: Positive('Distance between samples, metres', 1),
      },
      colliderCommon,
    ),
  ],
  'Physics shape',
);

export const ScriptSchema = Type.Object(
  {
    module: AssetPath('ES module under the asset root whose default export holds the hooks', 'script'),
    props: Type.Record(Type.String(), Type.Unknown(), { default: {}, description: 'Passed to the script as ctx.props' }),
    modes: Type.Array(Enum(['client', 'server', 'editor']), {
      default: ['client', 'server'],
      uniqueItems: true,
      description: 'Run modes in which the script runs',
    }),
  },
  { additionalProperties: false },
);

export const LightSchema = Type.Object(
  {
    kind: Enum(['ambient', 'directional', 'point', 'spot', 'hemisphere'], { default: 'directional' }),
    color: Color('#ffffff'),
    intensity: num({ minimum: 0, default: 1 }),
    range: num({ minimum: 0, default: 0, description: 'point/spot: 0 means infinite', units: 'm' }),
    castShadow: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);

export const CameraSchema = Type.Object(
  {
    fov: num({ exclusiveMinimum: 0, exclusiveMaximum: 180, default: 60, description: 'Vertical field of view, degrees', units: '°' }),
    near: Positive('Near plane', 0.1),
    far: Positive('Far plane', 1000),
    active: Type.Boolean({ default: false, description: 'The camera the client starts with' }),
  },
  { additionalProperties: false },
);

export const SpawnPointSchema = Type.Object(
  { team: Type.Optional(Type.String({ maxLength: 64, description: 'Only players of this team spawn here' })) },
  { additionalProperties: false },
);

export const ComponentsSchema = Type.Object(
  {
    transform: Type.Optional(TransformSchema),
    mesh: Type.Optional(MeshSchema),
    material: Type.Optional(MaterialSchema),
    rigidBody: Type.Optional(RigidBodySchema),
    collider: Type.Optional(ColliderSchema),
    script: Type.Optional(ScriptSchema),
    light: Type.Optional(LightSchema),
    camera: Type.Optional(CameraSchema),
    spawnPoint: Type.Optional(SpawnPointSchema),
  },
  { additionalProperties: false, default: {} },
);

export const EntitySchema = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'Stable id, unique in the scene' }),
    name: Type.Optional(Type.String({ maxLength: 128 })),
    parent: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()], { description: 'Id of the parent entity' })),
    tags: Type.Optional(Type.Array(Type.String({ maxLength: 64 }), { uniqueItems: true, maxItems: 64 })),
    components: ComponentsSchema,
  },
  { additionalProperties: false },
);

/** What surrounds the scene in a renderer; the server ignores it. */
export const EnvironmentSchema = Type.Object(
  {
    background: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'Plain background colour; ignored when sky is set' })),
    sky: Type.Optional(
      Type.Object(
        { top: Color('#5b8fc9'), bottom: Color('#dfe9f3') },
        { additionalProperties: false, description: 'Vertical gradient from the zenith (top) to the horizon (bottom)' },
      ),
    ),
    fog: Type.Optional(
      Type.Object(
        { color: Color('#dfe9f3'), near: num({ minimum: 0, default: 30, description: 'metres' }), far: Positive('metres', 120) },
        { additionalProperties: false, description: 'Linear fog' },
      ),
    ),
    ambient: Type.Optional(
      Type.Object({ color: Color('#ffffff'), intensity: num({ minimum: 0, default: 0.3 }) }, { additionalProperties: false, description: 'Ambient light added to the scene\'s lights' }),
    ),
  },
  { additionalProperties: false, description: 'Background, fog and ambient light for renderers' },
);

export const SettingsSchema = Type.Object(
  {
    gravity: Vec3('m/s²', [0, -9.81, 0], 'm/s²'),
    tickRate: Type.Integer({ minimum: 1, maximum: 240, default: 60, description: 'Simulation ticks per second' }),
    maxPlayers: Type.Integer({ minimum: 1, maximum: 10000, default: 16 }),
    physics: Type.Optional(
      Enum(['cannon', 'rapier'], { description: 'Physics engine: cannon (cannon-es, the default and reference) or rapier (Rapier, WASM)' }),
    ),
    environment: Type.Optional(EnvironmentSchema),
  },
  { additionalProperties: false, default: {} },
);

export const SceneSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String({ maxLength: 1024 })),
    format: Type.Literal(SCENE_FORMAT),
    version: Type.Literal(SCENE_VERSION),
    name: Type.String({ minLength: 1, maxLength: 128 }),
    settings: SettingsSchema,
    entities: Type.Array(EntitySchema),
  },
  { additionalProperties: false, $id: 'https://keel.dev/schema/keel-scene.schema.json', title: 'keel scene' },
);

/** A scene document as stored on disk, after defaults are applied. */
export type SceneDocument = Static<typeof SceneSchema>;
export type EntityDocument = Static<typeof EntitySchema>;
export type Components = Static<typeof ComponentsSchema>;
export type SceneSettings = Static<typeof SettingsSchema>;
export type TransformComponent = Static<typeof TransformSchema>;
export type MeshComponent = Static<typeof MeshSchema>;
export type MaterialComponent = Static<typeof MaterialSchema>;
export type RigidBodyComponent = Static<typeof RigidBodySchema>;
export type ColliderComponent = Static<typeof ColliderSchema>;
export type ScriptComponent = Static<typeof ScriptSchema>;
export type LightComponent = Static<typeof LightSchema>;
export type CameraComponent = Static<typeof CameraSchema>;
export type EnvironmentSettings = Static<typeof EnvironmentSchema>;
export type SpawnPointComponent = Static<typeof SpawnPointSchema>;
export type ComponentName = keyof Components;
