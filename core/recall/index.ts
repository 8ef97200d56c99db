export type {
  CreateBotInput,
  RecallCallOptions,
  RecallClient,
  RecallClientOptions,
  RecallLogger,
} from './client';
export {
  buildCreateBotRequest,
  createRecallClient,
  PARLEY_PARTICIPANT_EVENTS,
  parseRetryAfter,
} from './client';
export type { RecallErrorCode } from './errors';
export { RECALL_ERROR_CODES, RecallApiError } from './errors';
export { looksLikeMp3, silentMp3 } from './mp3';
export type {
  AudioMixedRawEvent,
  AudioSeparateRawEvent,
  ParseRecallResult,
  ParticipantEvent,
  RecallAudioMessage,
  RecallMessage,
  RecallMixedAudioMessage,
  RecallParticipant,
  RecallParticipantEventName,
  RecallParticipantMessage,
  RecallRealtimeEventName,
  RecallRealtimeWireMessage,
  RecallRejectReason,
  RecallResources,
  RecallSeparateAudioMessage,
  RecallTimestamp,
} from './realtime-schema';
export {
  MAX_RECALL_FRAME_BYTES,
  MAX_RECALL_MESSAGE_CHARS,
  parseRecallMessage,
  RECALL_AUDIO_FORMAT,
  RECALL_PARTICIPANT_EVENTS,
  RECALL_PCM_BYTES_PER_SECOND,
  RECALL_REALTIME_EVENTS,
  RECALL_REJECT_REASONS,
} from './realtime-schema';
export type { RecallRegion } from './regions';
export { isRecallRegion, RECALL_LEGACY_BASE_URL, RECALL_REGIONS, recallBaseUrl } from './regions';
export type {
  CreateBotRequest,
  OutputAudioRequest,
  RecallBot,
  RecallBotStatusCode,
  RecallStatusChange,
} from './rest-schema';
export { currentBotStatus, RECALL_BOT_STATUS_CODES, RECALL_TERMINAL_STATUS_CODES } from './rest-schema';
export type { SvixHeaders } from './webhook-signature';
export { svixHeaders, svixSignature, verifySvixSignature } from './webhook-signature';
