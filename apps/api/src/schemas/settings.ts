import { Type } from 'typebox';

/** One setting with where its value comes from. */
export const Setting = Type.Object({
  key: Type.String(),
  value: Type.Unknown(),
  source: Type.Union([Type.Literal('default'), Type.Literal('database'), Type.Literal('env')]),
  defaultValue: Type.Unknown(),
  description: Type.String(),
  env: Type.String({ description: 'environment variable that overrides it' }),
});

/** `GET /settings`. */
export const Settings = Type.Object({
  values: Type.Record(Type.String(), Type.Unknown()),
  settings: Type.Array(Setting),
});

/** Body of `PATCH /settings`: keys to change. */
export const SettingsPatch = Type.Record(Type.String(), Type.Unknown(), { minProperties: 1 });
