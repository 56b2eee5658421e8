import { Type } from 'typebox';

/** `GET /health`. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  database: Type.Object({ engine: Type.String(), ok: Type.Boolean() }),
  queue: Type.Object({ mode: Type.String(), ok: Type.Boolean() }),
});
