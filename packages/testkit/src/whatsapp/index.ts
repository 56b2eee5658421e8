export { FakeEventEmitter } from './fake-event-emitter.ts';
export {
  createFakeSocketFactory,
  type FakeChat,
  type FakeSocketFactory,
  type FakeWhatsAppScenario,
  FakeWhatsAppSocket,
  type PhoneBehaviour,
  type RecordedHistoryRequest,
} from './fake-socket.ts';
export {
  encodeHistorySync,
  type HistoryChunkSpec,
  type HistoryConversation,
  type HistorySetEvent,
  historySetEventFromBytes,
} from './history-chunk.ts';
export { FakeMediaServer, type PublishedMedia } from './media-server.ts';
export {
  generateTextHistory,
  type MessageEnvelope,
  type TargetKey,
  type TextHistoryOptions,
  waMessages,
} from './message-factory.ts';
