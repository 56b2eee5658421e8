import { createDb } from '../create-db.ts';
import { migrateToLatest } from '../migrate.ts';

const omni = await createDb({ migrate: false });
try {
  const { applied } = await migrateToLatest(omni.db);
  console.log(
    `${omni.engine}: ${applied.length === 0 ? 'already up to date' : `applied ${applied.join(', ')}`}`,
  );
} finally {
  await omni.close();
}
