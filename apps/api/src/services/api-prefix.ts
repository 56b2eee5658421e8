/** Base path of every route (`app.ts` re-exports it as `API_PREFIX`). */
export const API_PREFIX_PATH = '/api/v2';
