import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { isSettingKey, SETTING_DEFINITIONS, type SettingView } from '@omni/db';
import type { Static } from 'typebox';
import { ApiError } from '../errors/api-error.ts';
import { Data, errorResponses } from '../schemas/common.ts';
import {
  Setting,
  SettingParams,
  SettingPut,
  SettingsList,
  SettingsPatch,
  SettingsQuery,
} from '../schemas/settings.ts';

/**
 * A value as a settings form sends it: a string for a number or boolean setting is parsed the way
 * its environment variable is ("20" → 20, "true" → true); anything valid as given stays as given.
 */
function typed(key: string, value: unknown): unknown {
  if (typeof value !== 'string' || !isSettingKey(key)) return value;
  const definition = SETTING_DEFINITIONS[key];
  return definition.validate(value).ok ? value : definition.parseEnv(value);
}

/** `{ settings, reason? }` (Omni's bulk body) → the map it carries; a plain map stays as it is. */
function patchOf(body: Record<string, unknown>): Record<string, unknown> {
  const { settings, reason: _reason, ...rest } = body;
  const omniShape =
    settings !== null &&
    typeof settings === 'object' &&
    !Array.isArray(settings) &&
    Object.keys(rest).length === 0;
  const patch = omniShape ? (settings as Record<string, unknown>) : body;
  if (Object.keys(patch).length === 0) {
    throw ApiError.validation('no settings to change', [{ in: 'body', path: '/settings' }]);
  }
  return Object.fromEntries(Object.entries(patch).map(([key, value]) => [key, typed(key, value)]));
}

/**
 * Settings with Omni's shapes: `GET /settings` (`items`, and omni-sync's `data`), `GET/PUT
 * /settings/:key`, bulk `PATCH /settings` — validated by the SettingsService, all or nothing.
 */
export const settingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['settings'];

  const stamps = async () => {
    const rows = await app.deps.db.db.selectFrom('settings').select(['key', 'updated_at']).execute();
    return new Map(rows.map((r) => [r.key, r.updated_at.toISOString()]));
  };
  const item = (view: SettingView, stored: Map<string, string>): Static<typeof Setting> => ({
    key: view.key,
    value: view.value,
    category: view.key.split('.')[0] ?? view.key,
    isSecret: false,
    description: view.description,
    createdAt: stored.get(view.key) ?? null,
    updatedAt: stored.get(view.key) ?? null,
    source: view.source,
    defaultValue: view.defaultValue,
    env: view.env,
  });
  const listing = async (views: SettingView[], category?: string) => {
    const stored = await stamps();
    const shown = category ? views.filter((v) => v.key.split('.')[0] === category) : views;
    return {
      items: shown.map((v) => item(v, stored)),
      data: {
        values: Object.fromEntries(views.map((v) => [v.key, v.value])),
        settings: views.map((v) => item(v, stored)),
      },
    };
  };
  const one = async (key: string) => {
    if (!isSettingKey(key)) throw ApiError.notFound('setting', key);
    const view = (await app.deps.settings.list()).find((v) => v.key === key) as SettingView;
    return { data: item(view, await stamps()) };
  };

  app.get(
    '/settings',
    {
      schema: {
        tags,
        summary: 'Every setting with its value and source (category filters items)',
        querystring: SettingsQuery,
        response: { 200: SettingsList, ...errorResponses(400, 401) },
      },
    },
    async (request) => listing(await app.deps.settings.list(), request.query.category),
  );
  app.get(
    '/settings/:key',
    {
      schema: {
        tags,
        summary: 'One setting',
        params: SettingParams,
        response: { 200: Data(Setting), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => one(request.params.key),
  );
  app.put(
    '/settings/:key',
    {
      schema: {
        tags,
        summary: 'Set one setting ({ value, reason? }; a string value is read as typed)',
        params: SettingParams,
        body: SettingPut,
        response: { 200: Data(Setting), ...errorResponses(400, 401, 404) },
      },
    },
    async (request) => {
      const { key } = request.params;
      if (!isSettingKey(key)) throw ApiError.notFound('setting', key);
      await app.deps.settings.update({ [key]: typed(key, request.body.value) });
      return one(key);
    },
  );
  app.patch(
    '/settings',
    {
      schema: {
        tags,
        summary:
          'Change settings: { settings: {…}, reason? } or the keys directly; all or nothing, 400 with details',
        body: SettingsPatch,
        response: { 200: SettingsList, ...errorResponses(400, 401) },
      },
    },
    async (request) => listing(await app.deps.settings.update(patchOf(request.body))),
  );
};
