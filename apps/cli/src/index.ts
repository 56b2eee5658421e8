export { ApiClient, type ApiClientOptions, ApiError, parseSseBlock, type SseEvent } from './api-client.ts';
export { type CliIo, runCli } from './cli.ts';
export {
  type CoverageChatView,
  type CoverageView,
  type PlanView,
  renderCoverage,
  renderPlan,
  shortTime,
} from './coverage-table.ts';
export {
  formatBytes,
  formatDuration,
  formatPause,
  type JobProgress,
  type PauseView,
  type ProgressView,
  renderProgress,
} from './progress-bar.ts';
