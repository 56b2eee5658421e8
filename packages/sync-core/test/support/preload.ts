import { afterAll } from 'bun:test';
import { closeSharedDb } from './test-db.ts';

// Global hook (preloaded by bunfig.toml): runs once after all test files.
afterAll(closeSharedDb);
