/** Local Deepgram-compatible live transcription server (local mode only). */
export { CLOSE, MODEL_INFO, MODEL_UUID } from './deepgram-messages';
export type { ListenParams } from './listen-params';
export { parseListenParams } from './listen-params';
export type { AudioFrameInfo, AudioHook } from './live-session';
export type { RecognitionResult, RecognizedWord, RecognizerOptions } from './pocketsphinx';
export { DEFAULT_MODEL_DIR, Recognizer, THROUGHPUT_DECODER_ARGS } from './pocketsphinx';
export type { SpeechServer, SpeechServerOptions, SpeechServerStats } from './server';
export { MIN_ENDPOINTING_MS, startSpeechServer, UNENDPOINTED_WINDOW_MS } from './server';
