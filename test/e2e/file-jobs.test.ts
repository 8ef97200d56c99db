/**
 * File transcription on the local stack: REST create + presigned upload → s3rver's object
 * event → local jobs queue → file worker (ffmpeg → speech server via the live STT path) →
 * SQS → fan-out → WebSocket, and the same state over REST.
 */

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { JobsClient } from '../../core/jobs/upload-client';
import { wordErrorRate } from '../../core/wer';
import { type LocalStack, startLocalStack } from '../../local/stack';
import {
  concatenated,
  fixturesConcatenated,
  JobWatcher,
  MEDIA_DIR,
  sampleAs,
  sampleVideo,
  silence,
  truncated,
} from '../helpers/jobs';
import { REFERENCE_TEXT, waitFor } from '../helpers/live';

jest.setTimeout(300_000);

describe('file transcription jobs on the local stack', () => {
  let stack: LocalStack;
  let alice: JobsClient;
  let mallory: JobsClient;

  beforeAll(async () => {
    stack = await startLocalStack({ logLevel: 'WARN', fileWorker: { visibilityTimeoutSeconds: 5 } });
    alice = new JobsClient({ apiUrl: stack.urls.rest, token: () => stack.issuer.mintToken('alice') });
    mallory = new JobsClient({ apiUrl: stack.urls.rest, token: () => stack.issuer.mintToken('mallory') });
  });
  afterAll(() => stack?.stop());

  it('transcribes an uploaded mp3 with stages in order, monotonic progress to 100, and the transcript stored like a meeting’s', async () => {
    const file = sampleAs('mp3');
    const { jobId, upload } = await alice.transcribeFile(file, { language: 'en' });
    expect(upload.method).toBe('PUT');
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    const end = await watcher.ended();
    expect(end.type).toBe('complete');

    // Stages in order (the watcher may have joined after `queued`).
    const order = ['uploading', 'queued', 'decoding', 'transcribing', 'finalizing', 'complete'];
    const seen = watcher.stages;
    expect(seen.at(-1)).toBe('complete');
    expect(seen.map((s) => order.indexOf(s))).toEqual(
      [...seen.map((s) => order.indexOf(s))].sort((a, b) => a - b),
    );
    expect(seen).toEqual(expect.arrayContaining(['transcribing', 'finalizing', 'complete']));
    // Progress never goes backwards and ends at 100.
    const percents = watcher.of('progress_update').map((e) => Number(e.payload.percent));
    for (let i = 1; i < percents.length; i++)
      expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1] as number);
    expect(percents.at(-1)).toBe(100);

    // Polling agrees with the pushed end state.
    const polled = await alice.call('GET', `/jobs/${jobId}`);
    const lastProgress = watcher.of('progress_update').at(-1)?.payload;
    expect(polled).toMatchObject({ stage: 'complete', percent: 100, jobId, meetingId: jobId });
    expect(polled.audioSecondsProcessed).toBe(lastProgress?.audioSecondsProcessed);
    expect(polled.durationSeconds).toBeCloseTo(29.5, 0);

    // The transcript: same storage and formats as a meeting's, accurate, pushed while running.
    const res = await fetch(`${stack.urls.rest}/meetings/${jobId}/transcript?format=json&limit=200`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    const page = (await res.json()) as { segments: { seq: number; text: string }[] };
    expect(page.segments.length).toBeGreaterThanOrEqual(3);
    expect(page.segments.map((s) => s.seq)).toEqual(page.segments.map((_, i) => i + 1));
    const { wer } = wordErrorRate(REFERENCE_TEXT, page.segments.map((s) => s.text).join(' '));
    // A 64 kb/s mp3 costs the embedded engine a little accuracy against the live path's 0.4 on the wav.
    expect(wer).toBeLessThanOrEqual(0.5);
    await waitFor('pushed finals', () => watcher.recorder.finals.length >= page.segments.length);
    expect(watcher.recorder.finals.map((f) => f.text)).toEqual(page.segments.map((s) => s.text));
    const srt = await fetch(`${stack.urls.rest}/meetings/${jobId}/transcript?format=srt`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    expect(srt.status).toBe(200);
    expect(await srt.text()).toMatch(/^1\r?\n00:00:\d\d,\d{3} --> /);

    // Another user's job id is answered like a missing one.
    await expect(mallory.call('GET', `/jobs/${jobId}`)).rejects.toMatchObject({
      status: 404,
      code: 'JOB_NOT_FOUND',
    });
    const list = await alice.call<{ jobs: { jobId: string }[] }>('GET', '/jobs');
    expect(list.jobs.map((j) => j.jobId)).toContain(jobId);
    const theirs = await mallory.call<{ jobs: { jobId: string }[] }>('GET', '/jobs');
    expect(theirs.jobs.map((j) => j.jobId)).not.toContain(jobId);
    watcher.close();
  });

  async function run(file: string, contentType?: string) {
    const { jobId } = await alice.transcribeFile(file, contentType ? { contentType } : {});
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    const end = await watcher.ended();
    const job = await alice.call('GET', `/jobs/${jobId}`);
    watcher.close();
    return { jobId, watcher, end, job };
  }

  it('transcribes the audio track of a video', async () => {
    const { end, job } = await run(sampleVideo());
    expect(end.type).toBe('complete');
    expect(job.segments).toBeGreaterThanOrEqual(3);
  });

  it('refuses a file that is not media with UNSUPPORTED_MEDIA, pushed and polled alike', async () => {
    const file = path.join(MEDIA_DIR, 'notes.mp3');
    writeFileSync(file, 'These are meeting notes, not a recording.\n'.repeat(50));
    const { end, job } = await run(file);
    expect(end).toMatchObject({ type: 'error', code: 'UNSUPPORTED_MEDIA' });
    expect(job).toMatchObject({ stage: 'failed', error: { code: 'UNSUPPORTED_MEDIA' }, segments: 0 });
  });

  it('fails a file truncated midway with DECODE_FAILED and keeps what was transcribed before the damage', async () => {
    const { jobId, end, job } = await run(truncated(0.6));
    expect(end).toMatchObject({ type: 'error', code: 'DECODE_FAILED' });
    expect(job.stage).toBe('failed');
    expect(job.segments).toBeGreaterThanOrEqual(1);
    expect(job.resultLocation).toBe(`/meetings/${jobId}/transcript`);
  });

  it('completes a silent recording with no segments', async () => {
    const { end, job } = await run(silence(20));
    expect(end.type).toBe('complete');
    expect(job).toMatchObject({ stage: 'complete', percent: 100, segments: 0 });
  });

  it('resumes a job on another worker after its worker is killed, from its last stored segment, without missing or duplicate segments', async () => {
    const { jobId } = await alice.transcribeFile(concatenated(2));
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    await waitFor('two finals before the kill', () => watcher.recorder.finals.length >= 2, 240_000);
    await stack.restartFileWorker();
    // Pushed finals were stored first: the new worker must resume at or after the last of them.
    const storedAtKill = [...watcher.recorder.finals];
    const progressAtKill = watcher.of('progress_update').length;
    const resumeFloorSeconds = Math.max(...storedAtKill.map((f) => f.endMs)) / 1000;
    const end = await watcher.ended(600_000);
    expect(end.type).toBe('complete');
    const job = await alice.call('GET', `/jobs/${jobId}`);
    expect(job.attempts).toBeGreaterThanOrEqual(2);
    const res = await fetch(`${stack.urls.rest}/meetings/${jobId}/transcript?format=json&limit=500`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    const page = (await res.json()) as {
      segments: { seq: number; startMs: number; endMs: number; text: string }[];
    };
    // Every seq once, in order; what was stored before the kill is kept as it was.
    expect(page.segments.map((x) => x.seq)).toEqual(page.segments.map((_, i) => i + 1));
    for (const final of storedAtKill) {
      expect(page.segments[final.seq - 1]).toMatchObject({ text: final.text, startMs: final.startMs });
    }
    // Times run forward through the resume point (nothing re-transcribed, resumed segments timed
    // in the file, not from 0) and cover the whole file.
    for (let i = 1; i < page.segments.length; i++) {
      expect(page.segments[i]!.startMs).toBeGreaterThanOrEqual(page.segments[i - 1]!.endMs - 1_000);
    }
    expect(page.segments.at(-1)!.endMs).toBeGreaterThan(50_000);
    // Progress after the kill never goes back below what was shown before it, beyond the resumed
    // span (the job resumes at its last stored segment), and percent never drops.
    const progress = watcher.of('progress_update');
    const shownBeforeKill = Math.max(
      0,
      ...progress.slice(0, progressAtKill).map((e) => Number(e.payload.audioSecondsProcessed)),
    );
    const floorSeconds = Math.min(resumeFloorSeconds, shownBeforeKill);
    for (const p of progress.slice(progressAtKill).filter((e) => e.payload.stage === 'transcribing')) {
      expect(Number(p.payload.audioSecondsProcessed)).toBeGreaterThanOrEqual(floorSeconds - 0.01);
    }
    const percents = watcher.of('progress_update').map((e) => Number(e.payload.percent));
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]!);
    const { wer } = wordErrorRate(
      [REFERENCE_TEXT, REFERENCE_TEXT].join(' '),
      page.segments.map((x) => x.text).join(' '),
    );
    expect(wer).toBeLessThanOrEqual(0.5);
    watcher.close();
  }, 900_000);

  it('transcribes a 10-minute concatenation of the shared fixtures: progress monotonic to 100, stages in order, every segment once', async () => {
    const { file, reference } = fixturesConcatenated(10);
    const { jobId } = await alice.transcribeFile(file);
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    // The embedded engine sets the pace (~3 min here with the throughput options, longer when loaded).
    const end = await watcher.ended(840_000);
    const job = await alice.call('GET', `/jobs/${jobId}`);
    expect(end.type).toBe('complete');
    const order = ['uploading', 'queued', 'decoding', 'transcribing', 'finalizing', 'complete'];
    const ranks = watcher.stages.map((s) => order.indexOf(s));
    expect(ranks).toEqual([...ranks].sort((a, b) => a - b));
    expect(watcher.stages).toEqual(expect.arrayContaining(['transcribing', 'finalizing', 'complete']));
    const percents = watcher.of('progress_update').map((e) => Number(e.payload.percent));
    for (let i = 1; i < percents.length; i++) expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]!);
    expect(percents.at(-1)).toBe(100);
    expect(job).toMatchObject({ stage: 'complete', percent: 100 });
    expect(Number(job.durationSeconds)).toBeCloseTo(600, -1);
    // The file job's stream was decoded with the throughput options (its `job-` tag reached the engine).
    expect(stack.speech.stats().throughputStreams).toBeGreaterThanOrEqual(1);

    const res = await fetch(`${stack.urls.rest}/meetings/${jobId}/transcript?format=json&limit=500`, {
      headers: { authorization: `Bearer ${await stack.issuer.mintToken('alice')}` },
    });
    const page = (await res.json()) as {
      segments: { seq: number; startMs: number; endMs: number; text: string }[];
    };
    // Every seq once and in order, as many as the job counted; times run forward through the file.
    // (Counted in the job when it completes: the finals made after the last progress write,
    // the stream's last one at least, were once left out — 168 stored, 167 counted.)
    expect(page.segments.length).toBe(job.segments);
    expect(watcher.of('complete').at(-1)?.payload.segments).toBe(job.segments);
    expect(page.segments.map((x) => x.seq)).toEqual(page.segments.map((_, i) => i + 1));
    for (let i = 1; i < page.segments.length; i++) {
      expect(page.segments[i]!.startMs).toBeGreaterThanOrEqual(page.segments[i - 1]!.endMs - 1_000);
    }
    expect(page.segments.at(-1)!.endMs).toBeGreaterThan(570_000);
    // What was pushed while it ran is what was stored, segment for segment.
    await waitFor('pushed finals', () => watcher.recorder.finals.length >= page.segments.length);
    expect(watcher.recorder.finals.map((f) => f.seq)).toEqual(page.segments.map((x) => x.seq));
    expect(watcher.recorder.finals.map((f) => f.text)).toEqual(page.segments.map((x) => x.text));
    // The text is the fixtures' (PocketSphinx reads these voices at ~0.5 WER: bench:engine).
    const { wer } = wordErrorRate(reference, page.segments.map((x) => x.text).join(' '));
    expect(wer).toBeLessThanOrEqual(0.6);
    watcher.close();
  }, 900_000);

  it('cancels a running job: the worker stops and the job stays cancelled', async () => {
    const { jobId } = await alice.transcribeFile(concatenated(3));
    const watcher = new JobWatcher(stack, 'alice', jobId);
    await watcher.open();
    await waitFor('transcribing', () => watcher.stages.includes('transcribing'), 240_000);
    const cancelled = await alice.call('DELETE', `/jobs/${jobId}`);
    expect(cancelled.stage).toBe('cancelled');
    await watcher.ended();
    await waitFor('the worker to let go', () => stack.fileWorker.worker.activeJobs === 0, 60_000);
    const after = await alice.call('GET', `/jobs/${jobId}`);
    expect(after.stage).toBe('cancelled');
    expect(Number(after.audioSecondsProcessed)).toBeLessThan(88);
    await expect(alice.call('DELETE', `/jobs/${jobId}`)).rejects.toMatchObject({ status: 409 });
    watcher.close();
  });
});
