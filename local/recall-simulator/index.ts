export type { EndpointState, ReconnectPolicy, SentAudioSpan } from './endpoint-connection';
export type { FixturePaths, MeetingFixture } from './fixture';
export { loadMeetingFixture } from './fixture';
export { RECALL_RECONNECT_POLICY, startRecallSimulator } from './server';
export type {
  BotView,
  EndpointView,
  LeaveReason,
  RecallSimulator,
  RecallSimulatorEventMap,
  RecallSimulatorOptions,
} from './types';
export type { StatusWebhookBody } from './webhook-sender';
