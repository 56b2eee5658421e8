import type { Migration, MigrationProvider } from 'kysely/migration';
import * as initial from './0001-initial.ts';
import * as messageTarget from './0002-message-target.ts';
import * as channelSessions from './0003-channel-sessions.ts';
import * as leaseFencing from './0004-lease-fencing.ts';
import * as rateBudgets from './0005-rate-budgets.ts';
import * as historyInbox from './0006-history-inbox.ts';
import * as dashboard from './0008-dashboard.ts';
import * as chatCoverage from './0009-chat-coverage.ts';
import * as slackChannel from './0010-slack-channel.ts';
import * as inboxBodyMediaFailures from './0014-inbox-body-media-failures.ts';
import * as messageChangeFeed from './0015-message-change-feed.ts';
import * as messageTruncateFeed from './0016-message-truncate-feed.ts';

/** Forward-only migrations, in order. Add a file and list it here; never edit a shipped one. */
export const migrations: Record<string, Migration> = {
  '0001-initial': initial,
  '0002-message-target': messageTarget,
  '0003-channel-sessions': channelSessions,
  '0004-lease-fencing': leaseFencing,
  '0005-rate-budgets': rateBudgets,
  '0006-history-inbox': historyInbox,
  '0008-dashboard': dashboard,
  '0009-chat-coverage': chatCoverage,
  '0010-slack-channel': slackChannel,
  '0014-inbox-body-media-failures': inboxBodyMediaFailures,
  '0015-message-change-feed': messageChangeFeed,
  '0016-message-truncate-feed': messageTruncateFeed,
};

/** A Kysely MigrationProvider over the bundled migrations (no filesystem scan, works when bundled). */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => migrations,
};
