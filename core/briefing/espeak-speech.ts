/**
 * Embedded text-to-speech for local mode: espeak-ng (Debian package `espeak-ng`) speaks the text
 * as WAV, ffmpeg (Debian `ffmpeg`) encodes it as MP3 — the same `(text) => Promise<Buffer>` of
 * MP3 bytes as OpenAI's speech, so `ask` with `speak: true` plays the answer in the call without
 * OpenAI. Selected with `SPEECH_SYNTHESIS=espeak-ng` (local mode sets it); never on AWS, where
 * the Lambda image has neither program.
 *
 * Limits: the text is cut to MAX_SPOKEN_CHARS (as for OpenAI) and passed as one argument (no
 * shell); each program gets `timeoutMs` and at most MAX_AUDIO_BYTES of output.
 */
import { spawn } from 'node:child_process';
import { UpstreamError } from '../errors';
import { looksLikeMp3 } from '../recall/mp3';
import { spokenText } from './openai-engine';

export interface EspeakOptions {
  /** espeak-ng voice, default `en-us`. */
  voice?: string;
  /** Words per minute, default 160. */
  wordsPerMinute?: number;
  timeoutMs?: number;
  espeakPath?: string;
  ffmpegPath?: string;
}

/** 1,500 characters of speech is ~2 minutes: a few MB of WAV at most. */
const MAX_AUDIO_BYTES = 16 * 1024 * 1024;

export function espeakSpeech(options: EspeakOptions = {}): (text: string) => Promise<Buffer> {
  const voice = options.voice ?? 'en-us';
  const wpm = String(options.wordsPerMinute ?? 160);
  const timeoutMs = options.timeoutMs ?? 15_000;
  return async (text: string) => {
    const input = spokenText(text);
    if (input === '') throw new UpstreamError('SPEECH_FAILED', 'There is nothing to speak');
    // "--" ends the options: an answer starting with "-" is still text.
    const wav = await run(
      options.espeakPath ?? 'espeak-ng',
      ['-v', voice, '-s', wpm, '--stdout', '--', input],
      undefined,
      timeoutMs,
    );
    const mp3 = await run(
      options.ffmpegPath ?? 'ffmpeg',
      [
        '-hide_banner',
        '-loglevel',
        'error',
        '-f',
        'wav',
        '-i',
        'pipe:0',
        '-ac',
        '1',
        '-ar',
        '24000',
        '-b:a',
        '48k',
        '-f',
        'mp3',
        'pipe:1',
      ],
      wav,
      timeoutMs,
    );
    if (!looksLikeMp3(mp3))
      throw new UpstreamError('SPEECH_FAILED', 'The local text-to-speech produced no MP3');
    return mp3;
  };
}

function run(command: string, args: string[], stdin: Buffer | undefined, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    let size = 0;
    let stderr = '';
    let failed: UpstreamError | undefined;
    const fail = (message: string, cause?: unknown) => {
      failed ??= new UpstreamError('SPEECH_FAILED', message, { cause });
      child.kill('SIGKILL');
    };
    const timer = setTimeout(
      () => fail(`Local text-to-speech (${command}) took longer than ${timeoutMs} ms`),
      timeoutMs,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_AUDIO_BYTES) return fail(`Local text-to-speech (${command}) produced too much audio`);
      chunks.push(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 2_000) stderr += chunk.toString('utf8');
    });
    child.on('error', (error) =>
      fail(`Local text-to-speech could not start ${command} (is the Debian package installed?)`, error),
    );
    child.stdin.on('error', () => {}); // the process may exit before reading everything; its exit code tells
    child.on('close', (code) => {
      clearTimeout(timer);
      if (failed) return reject(failed);
      if (code !== 0) {
        return reject(
          new UpstreamError(
            'SPEECH_FAILED',
            `Local text-to-speech (${command}) failed with exit code ${code}: ${stderr.trim().slice(0, 200)}`,
          ),
        );
      }
      resolve(Buffer.concat(chunks));
    });
    child.stdin.end(stdin);
  });
}
