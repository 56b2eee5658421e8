import { Type } from 'typebox';

/** Status of one checked dependency. */
const Check = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('error')]),
  latency: Type.Number({ description: 'milliseconds the check took' }),
});

/** `GET /health`, Omni's health document. */
export const Health = Type.Object({
  status: Type.Union([Type.Literal('healthy'), Type.Literal('degraded'), Type.Literal('unhealthy')], {
    description: 'unhealthy: the database does not answer; degraded: the queue does not',
  }),
  version: Type.String(),
  uptime: Type.Number({ description: 'seconds since the process started' }),
  timestamp: Type.String({ format: 'date-time' }),
  checks: Type.Object({
    database: Type.Intersect([Check, Type.Object({ engine: Type.String() })]),
    queue: Type.Intersect([Check, Type.Object({ mode: Type.String() })]),
  }),
});
