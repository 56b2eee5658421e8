import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { SettingView } from '@omni/db';
import { Data, errorResponses } from '../schemas/common.ts';
import { Settings, SettingsPatch } from '../schemas/settings.ts';

const view = (settings: SettingView[]) => ({
  values: Object.fromEntries(settings.map((s) => [s.key, s.value])),
  settings,
});

/** `GET /settings`, `PATCH /settings` (validated by the SettingsService; all or nothing). */
export const settingsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const tags = ['settings'];
  app.get(
    '/settings',
    {
      schema: {
        tags,
        summary: 'Every setting with its value and source',
        response: { 200: Data(Settings), ...errorResponses(401) },
      },
    },
    async () => ({ data: view(await app.deps.settings.list()) }),
  );
  app.patch(
    '/settings',
    {
      schema: {
        tags,
        summary: 'Change settings (unknown keys and invalid values → 400 with details)',
        body: SettingsPatch,
        response: { 200: Data(Settings), ...errorResponses(400, 401) },
      },
    },
    async (request) => ({ data: view(await app.deps.settings.update(request.body)) }),
  );
};
