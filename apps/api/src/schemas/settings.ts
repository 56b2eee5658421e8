import { Type } from 'typebox';

/** One setting: Omni's fields, then where its value comes from. */
export const Setting = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  category: Type.String({ description: 'the key up to its first dot (sync, media)' }),
  isSecret: Type.Boolean({ description: 'always false: no setting here is a secret' }),
  description: Type.String(),
  createdAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], {
    description: 'when a value was first stored; null while the default applies',
  }),
  updatedAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  source: Type.Union([Type.Literal('default'), Type.Literal('database'), Type.Literal('env')]),
  defaultValue: Type.Unknown(),
  env: Type.String({ description: 'environment variable that overrides it' }),
});

/** omni-sync's own view: every value by key, and every setting. */
export const SettingsView = Type.Object({
  values: Type.Record(Type.String(), Type.Unknown()),
  settings: Type.Array(Setting),
});

/** `GET /settings` and `PATCH /settings`: Omni's `items`, and omni-sync's `data`. */
export const SettingsList = Type.Object({ items: Type.Array(Setting), data: SettingsView });

/**
 * Body of `PATCH /settings`: Omni's `{ settings: {key: value}, reason? }`, or the keys to change
 * directly. String values of number or boolean settings are read as typed in a form ("20", "true").
 */
export const SettingsPatch = Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 });

/** Body of `PUT /settings/:key`. */
export const SettingPut = Type.Object(
  {
    value: Type.Unknown({ description: 'the new value; a string is read as typed in a form' }),
    reason: Type.Optional(Type.String({ maxLength: 1000, description: 'accepted (no audit log here)' })),
  },
  { additionalProperties: false, required: ['value'] },
);

/** Query of `GET /settings`. */
export const SettingsQuery = Type.Object(
  { category: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) },
  { additionalProperties: false },
);

/** `:key` of one setting. */
export const SettingParams = Type.Object({ key: Type.String({ minLength: 1, maxLength: 200 }) });
