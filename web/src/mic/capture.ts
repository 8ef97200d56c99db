/**
 * Microphone capture in the page: getUserMedia → MediaStreamSource → the capture AudioWorklet
 * (capture-worklet.ts: 16 kHz mono s16le) → `onPcm` on the main thread, where the MicClient
 * journals and sends it.
 */
import workletUrl from './capture-worklet.ts?worker&url';

export interface MicCapture {
  /** The AudioContext's rate (what the worklet resamples from). */
  readonly inputRate: number;
  /** Post what the worklet still holds, then release the microphone. */
  stop(): Promise<void>;
}

/** Asks for the microphone (the browser's permission prompt). */
export function requestMicrophone(): Promise<MediaStream> {
  if (!navigator.mediaDevices?.getUserMedia) {
    return Promise.reject(
      new Error('This browser cannot capture audio here (a secure https page is required)'),
    );
  }
  return navigator.mediaDevices.getUserMedia({
    audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true },
    video: false,
  });
}

export async function startCapture(
  stream: MediaStream,
  onPcm: (pcm: Uint8Array) => void,
  onLevel?: (peak: number) => void,
): Promise<MicCapture> {
  const context = new AudioContext({ latencyHint: 'interactive' });
  try {
    await context.audioWorklet.addModule(workletUrl);
    if (context.state === 'suspended') await context.resume();
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, 'parley-mic-capture', {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
    });
    let flushed: (() => void) | undefined;
    node.port.onmessage = (event: MessageEvent<{ type: string; pcm?: ArrayBuffer }>) => {
      if (event.data.type === 'pcm' && event.data.pcm) {
        const pcm = new Uint8Array(event.data.pcm);
        onPcm(pcm);
        if (onLevel) onLevel(peakOf(pcm));
      } else if (event.data.type === 'flushed') {
        flushed?.();
      }
    };
    source.connect(node);
    // The node writes silence; being connected keeps it pulled in every browser.
    node.connect(context.destination);
    let stopping: Promise<void> | undefined;
    return {
      inputRate: context.sampleRate,
      stop() {
        stopping ??= (async () => {
          await new Promise<void>((resolve) => {
            flushed = resolve;
            node.port.postMessage({ type: 'flush' });
            setTimeout(resolve, 2_000); // a suspended context never answers
          });
          node.port.postMessage({ type: 'stop' });
          source.disconnect();
          node.disconnect();
          for (const track of stream.getTracks()) track.stop();
          await context.close().catch(() => undefined);
        })();
        return stopping;
      },
    };
  } catch (error) {
    for (const track of stream.getTracks()) track.stop();
    await context.close().catch(() => undefined);
    throw error;
  }
}

/** Peak level of s16le PCM, 0…1 (a level meter). */
function peakOf(pcm: Uint8Array): number {
  const view = new DataView(pcm.buffer, pcm.byteOffset, pcm.byteLength);
  let peak = 0;
  for (let i = 0; i + 1 < pcm.byteLength; i += 2) peak = Math.max(peak, Math.abs(view.getInt16(i, true)));
  return peak / 32768;
}
