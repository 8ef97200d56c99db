/** Messages between the speech server (main thread) and one recognizer worker. */
import type { DecoderEvent, StreamDecoderOptions } from './stream-decoder';

export interface WorkerInit {
  decoder: StreamDecoderOptions;
  /** PocketSphinx `-vad_postspeech`, in 10 ms frames. */
  vadPostSpeechFrames: number;
  modelDir?: string;
  /** Extra PocketSphinx options (`-name value`) for this stream's decoder. */
  decoderArgs?: Record<string, string>;
  /** Int32Array(1) over shared memory: set to 1 by the host to skip queued audio (abort). */
  abortFlag: SharedArrayBuffer;
}

export type HostToWorker =
  /** 16 kHz mono S16LE samples; the buffer is transferred. */
  | { type: 'audio'; pcm: ArrayBuffer }
  | { type: 'finalize' }
  /** Flush the open utterance, answer `closed`, then exit. */
  | { type: 'close' }
  /** Drop everything queued, free the decoder (native memory a terminated thread would leak), exit. */
  | { type: 'abort' };

export type WorkerToHost =
  | { type: 'ready'; initMs: number }
  | { type: 'events'; events: DecoderEvent[]; decodeMs: number }
  | { type: 'closed' }
  | { type: 'error'; message: string };
