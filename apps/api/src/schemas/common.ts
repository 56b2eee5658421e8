import { type TSchema, Type } from 'typebox';

/** A uuid string. */
export const Uuid = Type.String({ format: 'uuid', description: 'uuid' });

/** An ISO-8601 timestamp (UTC). */
export const Timestamp = Type.String({ format: 'date-time' });

/** A nullable ISO-8601 timestamp. */
export const NullableTimestamp = Type.Union([Type.String({ format: 'date-time' }), Type.Null()]);

/**
 * A string or `null`, as `type: ['string', 'null']` rather than an `anyOf`: the response
 * serialiser writes it directly instead of validating each branch per value, which matters on
 * lists of many rows (a page of messages).
 */
export const NullableText = (options: { format?: string; description?: string } = {}) =>
  Type.Unsafe<string | null>({ type: ['string', 'null'], ...options });

/** A JSON object or `null`, written directly like {@link NullableText}. */
export const NullableObject = (options: { description?: string } = {}) =>
  Type.Unsafe<Record<string, unknown> | null>({
    type: ['object', 'null'],
    additionalProperties: true,
    ...options,
  });

/** Any JSON object. */
export const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** `{ data: T }`: every successful single-object response. */
export const Data = <T extends TSchema>(schema: T) => Type.Object({ data: schema });

/** Paging metadata of list responses. */
export const ListMeta = Type.Object({
  hasMore: Type.Boolean(),
  cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'pass back as `cursor` for the next page',
  }),
});

/** `{ items: T[], meta }`: every list response. */
export const List = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), meta: ListMeta });

/** The one error body. */
export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String(),
      message: Type.String(),
      details: Type.Optional(Type.Unknown()),
    }),
  },
  { description: 'error' },
);

/** `limit` and `cursor` query parameters of list routes. */
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
};

/** `:id` path parameter. */
export const IdParams = Type.Object({ id: Uuid });

/** Error responses most routes can give, for the OpenAPI document. */
export const errorResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, ErrorBody])) as Record<number, TSchema>;

/** `?api_key=`: the key in the URL, accepted by the media and SSE routes only (for `<img src>`, `EventSource`). */
export const ApiKeyQuery = Type.Object({
  api_key: Type.Optional(
    Type.String({ maxLength: 512, description: 'the API key, for URLs that cannot send headers' }),
  ),
});
