/** Audio format of every live stream in Parley: 16 kHz mono signed 16-bit little-endian PCM. */
export const SAMPLE_RATE = 16_000;
export const BYTES_PER_SAMPLE = 2;
export const BYTES_PER_MS = (SAMPLE_RATE * BYTES_PER_SAMPLE) / 1000; // 32

export function bytesToMs(bytes: number): number {
  return bytes / BYTES_PER_MS;
}

export function msToBytes(ms: number): number {
  return Math.round(ms * BYTES_PER_MS) & ~1;
}
