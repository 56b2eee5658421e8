/** @omni/channel-slack: the Slack ChannelPlugin over the Web API (`@slack/web-api`). */
export { downloadSlackMedia } from './download-media.ts';
export { fetchSlackHistory, type SlackHistoryCursor } from './fetch-history.ts';
export {
  conversationType,
  listSlackChats,
  type SlackConversation,
  type SlackConversationType,
  unreadableReason,
} from './list-chats.ts';
export { fileToMedia, normalizeMessage, type SlackFile, type SlackMessage } from './normalize-message.ts';
export { SlackApiClient, type SlackAuth, type SlackRequestStats, translate } from './slack-api-client.ts';
export { createSlackPlugin, SLACK_CAPABILITIES, SlackPlugin } from './slack-plugin.ts';
export {
  DEFAULT_SLACK_PLUGIN_OPTIONS,
  resolveSlackPluginOptions,
  type SlackAppTier,
  type SlackPluginOptions,
} from './slack-plugin-options.ts';
export {
  historyCost,
  methodPerMinute,
  pageSizeFor,
  SLACK_METHOD_TIERS,
  SLACK_TIERS,
  type SlackMethod,
  UNLISTED_MAX_PAGE,
} from './slack-tiers.ts';
export { compareTs, isTs, msFromTs, tsFromMs } from './slack-ts.ts';
