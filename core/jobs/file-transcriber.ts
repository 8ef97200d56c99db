/**
 * Transcribes one uploaded file: download, probe, decode with ffmpeg to 16 kHz mono PCM, and
 * stream it through the live meetings' speech path (SttStream → SegmentAssembler → the
 * transcript pipeline), as fast as the engine takes it. Progress, ETA and the resume checkpoint
 * are written to the job at most twice a second, then pushed to the job's subscribers.
 *
 * Resuming: the seq of each final is the worker's own count from the checkpoint (not the
 * meeting's counter), so a final that a lost worker had already sent is re-made with the same
 * seq and stored once (the segments table's conditional put).
 *
 * One run at a time: a run holds the job's lease (JobRepository.claim), renews it while alive,
 * writes only while it holds it, and stops sending finals once it may have lapsed, so a second
 * worker that receives the job's message again (its visibility lapsed) never transcribes beside
 * a live run, and takes over a lost one only after the lease has expired.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '@aws-lambda-powertools/logger';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { AudioClock } from '../audio/audio-clock';
import type { SttConnector } from '../audio/deepgram-connector';
import { FloorTracker } from '../audio/floor-tracker';
import { SegmentAssembler } from '../audio/segment-assembler';
import { type SttResult, SttStream } from '../audio/stt-stream';
import type { MeetingRepository } from '../meetings/repository';
import type { JobMessage, PipelineEvent } from '../pipeline/events';
import type { SegmentRepository } from '../transcript/segment-repository';
import {
  DEFAULT_MEDIA_TOOLS,
  JobFailure,
  type MediaTools,
  measureDuration,
  PCM_BYTES_PER_MS,
  probeMedia,
  startDecoder,
} from './media';
import type { Job, JobStage } from './model';
import { EtaEstimator, JobEventCoalescer, PROGRESS_INTERVAL_MS } from './progress';
import type { JobRepository } from './repository';

export interface FileTranscriberDeps {
  jobs: Pick<JobRepository, 'update' | 'renewLease' | 'whyNotWritten'>;
  meetings: Pick<MeetingRepository, 'get' | 'setStatusIf'>;
  segments: Pick<SegmentRepository, 'all'>;
  s3: S3Client;
  bucket: string;
  connector: SttConnector;
  publish: (event: PipelineEvent) => void;
  flush: () => Promise<void>;
  logger: Logger;
  tools?: MediaTools;
  tmpDir: string;
  progressIntervalMs?: number;
  /** Audio sent ahead of what the engine has reported on (bounds memory and the resend on a reconnect). */
  leadMs?: number;
  /** How long finalizing waits for the fan-out to store the last segments. */
  storeTimeoutMs?: number;
}

export type JobOutcome = 'complete' | 'failed' | 'cancelled' | 'halted';

/** Frames sent to the speech engine (250 ms, as a live stream would). */
const FRAME_BYTES = 250 * PCM_BYTES_PER_MS;

/**
 * Stops a run from outside: `halt` = the worker is going away (no more writes), `crash` simulates
 * a kill, `lose` = the run no longer holds the job's lease (another run may hold it).
 */
export class RunControl {
  halted = false;
  /** A simulated kill: unlike a graceful halt, not even the last checkpoint is written. */
  crashed = false;
  /** The lease is gone or may have lapsed: nothing more is sent or written. */
  lost = false;
  private readonly listeners: (() => void)[] = [];
  halt(): void {
    if (this.halted) return;
    this.halted = true;
    for (const fn of this.listeners.splice(0)) fn();
  }
  crash(): void {
    this.crashed = true;
    this.halt();
  }
  lose(): void {
    this.lost = true;
    this.halt();
  }
  onHalt(fn: () => void): void {
    if (this.halted) fn();
    else this.listeners.push(fn);
  }
}

class Cancelled extends Error {
  override name = 'Cancelled';
}
class Halted extends Error {
  override name = 'Halted';
}

/** The lease a run holds (JobRepository.claim): its owner id, until when, and how long a renewal extends it. */
export interface RunLease {
  owner: string;
  /** Epoch ms. */
  expiresAt: number;
  durationMs: number;
}

export class FileTranscriber {
  constructor(private readonly deps: FileTranscriberDeps) {}

  /** Runs a claimed job; without `lease` (tests of a lone run) nothing is fenced. */
  async run(claimed: Job, control: RunControl = new RunControl(), lease?: RunLease): Promise<JobOutcome> {
    const run = new JobRun(this.deps, claimed, control, lease);
    return run.execute();
  }
}

class JobRun {
  private job: Job;
  private readonly events: JobEventCoalescer;
  private readonly log: Logger;
  private dir: string | undefined;
  private stage: JobStage;
  private percent: number;
  private bytesProcessed = 0;
  private audioMs = 0;
  private totalMs = 0;
  private speed = 0;
  private eta: { seconds: number; confidence: number } | undefined;
  private checkpoint: { seq: number; ms: number };
  private segments: number;
  private seqCounter: number;

  constructor(
    private readonly deps: FileTranscriberDeps,
    claimed: Job,
    private readonly control: RunControl,
    private readonly lease?: RunLease,
  ) {
    this.job = claimed;
    this.stage = claimed.stage;
    this.percent = claimed.percent;
    this.checkpoint = { seq: claimed.checkpointSeq, ms: claimed.checkpointMs };
    this.segments = claimed.segments;
    this.seqCounter = claimed.checkpointSeq;
    // A resumed job reports from its checkpoint while it downloads again, never from 0.
    this.audioMs = claimed.checkpointMs;
    this.log = deps.logger.createChild({ persistentKeys: { jobId: claimed.jobId } });
    this.events = new JobEventCoalescer(
      claimed.jobId,
      (event) => {
        if (!this.control.halted) deps.publish(event);
      },
      deps.progressIntervalMs ?? PROGRESS_INTERVAL_MS,
    );
  }

  async execute(): Promise<JobOutcome> {
    const renewing = this.keepLease();
    try {
      if (this.stage === 'uploading') await this.moveTo('queued');
      if (this.stage === 'queued') await this.moveTo('decoding');
      // Where a resumed job goes on from comes first, so that the progress reported while the file
      // downloads again is already there, never back at an older checkpoint.
      await this.resumePoint();
      const file = await this.download();
      const info = await probeMedia(file, this.tools);
      let durationSeconds = info.durationSeconds;
      if (!(durationSeconds > 0)) durationSeconds = await measureDuration(file, this.tools);
      this.totalMs = Math.round(durationSeconds * 1000);
      await this.write({ durationSeconds: Math.round(durationSeconds * 1000) / 1000 });
      this.log.info('media probed', { format: info.formatName, codec: info.audioCodec, durationSeconds });
      if (this.stage === 'decoding') await this.moveTo('transcribing');
      await this.deps.meetings.setStatusIf(this.job.jobId, 'live', ['joining']);
      const decoded = await this.transcribe(file);
      await this.moveTo('finalizing');
      await this.waitUntilStored();
      if (decoded.failure) throw decoded.failure;
      return await this.complete();
    } catch (error) {
      if (error instanceof Halted || this.control.halted) {
        await this.handOver();
        return 'halted';
      }
      if (error instanceof Cancelled) {
        this.events.discard();
        this.log.info('job cancelled; stopped');
        return 'cancelled';
      }
      if (error instanceof JobFailure) return await this.fail(error);
      throw error;
    } finally {
      if (renewing) clearInterval(renewing);
      if (this.dir) await rm(this.dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  /**
   * Renews the lease three times per lease duration, on its own timer (the finalizing waits and
   * a slow progress write must not let it lapse). A renewal refused because another run holds
   * the job stops this run; a failed call is retried at the next beat (the lease's own expiry
   * then fences the run: leaseHeld).
   */
  private keepLease(): NodeJS.Timeout | undefined {
    const lease = this.lease;
    if (!lease) return undefined;
    let renewing = false;
    const timer = setInterval(
      () => {
        if (renewing || this.control.halted) return;
        renewing = true;
        const expiresAt = Date.now() + lease.durationMs;
        this.deps.jobs
          .renewLease(this.job.jobId, lease.owner, expiresAt)
          .then((result) => {
            if (result === 'renewed') lease.expiresAt = Math.max(lease.expiresAt, expiresAt);
            if (result === 'lost') this.loseLease('another run holds the job');
          })
          .catch((error) => this.log.warn('lease renewal failed', { error: String(error) }))
          .finally(() => {
            renewing = false;
          });
      },
      Math.max(100, Math.floor(lease.durationMs / 3)),
    );
    timer.unref();
    return timer;
  }

  /** True while this run certainly holds the lease (its last confirmed expiry is ahead). */
  private leaseHeld(): boolean {
    return !this.lease || Date.now() < this.lease.expiresAt;
  }

  private loseLease(reason: string): void {
    if (this.control.lost) return;
    this.log.warn('job lease lost: this run stops; another run resumes the job', { reason });
    this.control.lose();
  }

  /**
   * A graceful halt (SIGTERM, scale-in) hands the job back at once: the finals sent since the
   * last progress write are flushed and checkpointed first, so the next worker waits for them to
   * be stored and resumes after them rather than racing the fan-out.
   */
  private async handOver(): Promise<void> {
    if (this.control.crashed || this.control.lost) return;
    try {
      await this.deps.flush();
      // The lease is given up with the checkpoint: the next worker need not wait for it to expire.
      await this.deps.jobs.update(
        this.job.jobId,
        this.checkpoint.seq === 0
          ? { leaseExpiresAt: 0 }
          : {
              checkpointSeq: this.checkpoint.seq,
              checkpointMs: this.checkpoint.ms,
              segments: this.segments,
              leaseExpiresAt: 0,
            },
        this.owner,
      );
    } catch (error) {
      this.log.warn('could not write the hand-over checkpoint', { error: String(error) });
    }
  }

  private get tools(): MediaTools {
    return this.deps.tools ?? DEFAULT_MEDIA_TOOLS;
  }

  private async download(): Promise<string> {
    this.dir = await mkdtemp(path.join(this.deps.tmpDir, 'parley-job-'));
    const file = path.join(this.dir, 'media');
    const out = await this.deps.s3.send(
      new GetObjectCommand({ Bucket: this.deps.bucket, Key: this.job.uploadKey }),
    );
    const size = Number(out.ContentLength ?? 0);
    if (size === 0) throw new JobFailure('EMPTY_MEDIA', 'The file is empty');
    if (size !== this.job.sizeBytes) {
      throw new JobFailure(
        'UPLOAD_MISMATCH',
        `The uploaded file has ${size} bytes; the job was created for ${this.job.sizeBytes}`,
      );
    }
    const body = out.Body as NodeJS.ReadableStream;
    const ticker = setInterval(() => void this.tick().catch(() => undefined), this.interval);
    try {
      body.on('data', (chunk: Buffer) => {
        this.bytesProcessed += chunk.length;
      });
      await pipeline(body, createWriteStream(file));
    } finally {
      clearInterval(ticker);
    }
    this.bytesProcessed = size;
    return file;
  }

  /**
   * Resume after a lost worker: from the checkpoint, or from a later final it had already sent
   * and the fan-out stored. Also with no checkpoint yet: a worker killed before its first
   * progress write may already have sent finals, and they must not be transcribed twice.
   */
  private async resumePoint(): Promise<void> {
    const before = { ...this.checkpoint };
    // The checkpoint's finals were sent before it was written: wait until the fan-out has stored
    // them, so the stored finals read next are every final up to the checkpoint and beyond.
    await this.waitForStored(before.seq, 'checkpointed finals not all stored in time; resuming anyway');
    for await (const s of this.deps.segments.all(this.job.jobId, this.checkpoint.seq)) {
      this.checkpoint = { seq: s.seq, ms: Math.max(this.checkpoint.ms, s.endMs) };
    }
    this.seqCounter = this.checkpoint.seq;
    // Seqs count the finals from 1: the finals kept are exactly those up to the resume seq.
    this.segments = this.checkpoint.seq;
    this.audioMs = Math.max(this.audioMs, this.checkpoint.ms);
    if (this.checkpoint.seq === 0 && this.checkpoint.ms === 0) return;
    this.log.info('resuming', {
      fromSeq: this.checkpoint.seq,
      fromMs: this.checkpoint.ms,
      checkpointSeq: before.seq,
      checkpointMs: before.ms,
      attempt: this.job.attempts,
    });
  }

  private async transcribe(file: string): Promise<{ failure?: JobFailure }> {
    const startMs = this.checkpoint.ms;
    const clock = clockFrom(startMs);
    // Speed and ETA are measured from the engine's first result: connecting and loading the
    // model come once, before it, and would make every later estimate too long.
    let estimator: EtaEstimator | undefined;
    let confirmedStreamMs = 0;
    let lastResultAt = Date.now();
    /** When the Finalize whose final has not come back yet was sent (0: none outstanding). */
    let finalizeSentAt = 0;
    let wake: (() => void) | undefined;
    let assemblerError: unknown;

    const assembler = new SegmentAssembler({
      meetingId: this.job.jobId,
      nextSeq: async () => ++this.seqCounter,
      clock,
      floor: new FloorTracker(),
      emit: (segment) => {
        if (!segment.isFinal || this.control.halted) return;
        // A final sent after the lease may have lapsed could race the run that took the job over.
        if (!this.leaseHeld()) {
          this.loseLease('the lease lapsed before it could be renewed');
          return;
        }
        this.segments++;
        this.deps.publish({ v: 1, type: 'transcript', meetingId: this.job.jobId, segment });
        this.checkpoint = { seq: segment.seq, ms: this.checkpoint.ms };
      },
      onFinal: (streamEndMs) => {
        stt.release(streamEndMs);
        // A halted run no longer sends finals, so its checkpoint must not pass them either.
        if (this.control.halted) return;
        this.checkpoint = {
          seq: this.checkpoint.seq,
          ms: Math.max(this.checkpoint.ms, startMs + streamEndMs),
        };
      },
      onError: (error) => {
        assemblerError = error;
      },
    });
    const stt = new SttStream({
      connector: this.deps.connector,
      connect: { keyterms: this.job.keywords, language: this.job.language, tag: `job-${this.job.jobId}` },
      logger: this.log,
      // The engine may still be decoding the lead (up to leadMs of audio) when the stream closes.
      closeTimeoutMs: 600_000,
      onResult: (result: SttResult) => {
        lastResultAt = Date.now();
        if (result.isFinal) finalizeSentAt = 0;
        confirmedStreamMs = Math.max(confirmedStreamMs, result.endMs);
        this.audioMs = Math.min(this.totalMs, Math.max(this.audioMs, startMs + result.endMs));
        estimator ??= new EtaEstimator(lastResultAt, this.audioMs);
        assembler.push(result);
        wake?.();
      },
    });
    const decoder = startDecoder(file, startMs, this.tools);
    this.control.onHalt(() => {
      decoder.kill();
      stt.abandon();
      wake?.();
    });

    let cancelled = false;
    const ticker = setInterval(() => {
      const now = Date.now();
      if (estimator) {
        estimator.observe(now, this.audioMs);
        this.speed = estimator.speed(now, this.audioMs);
        this.eta = estimator.estimate(now, this.audioMs, this.totalMs);
      }
      this.tick().catch((error) => {
        if (error instanceof Cancelled) {
          cancelled = true;
          decoder.kill();
          wake?.();
        } else if (!(error instanceof Halted))
          this.log.warn('progress write failed', { error: String(error) });
      });
    }, this.interval);
    const leadMs = this.deps.leadMs ?? 15_000;
    let sentStreamMs = 0;
    try {
      await stt.start();
      let carry: Buffer = Buffer.alloc(0);
      for await (const chunk of decoder.stdout as AsyncIterable<Buffer>) {
        carry = carry.length > 0 ? Buffer.concat([carry, chunk]) : chunk;
        while (carry.length >= FRAME_BYTES) {
          // Keep at most leadMs of audio ahead of the engine. The engine reports every second of
          // speech; in silence it says nothing, so when it has been quiet for longer than two
          // seconds of audio take it (at the speed measured so far), a Finalize makes it report.
          // One at a time: each is queued behind the audio sent, and a burst of them would cut
          // speech into fragments when the engine is merely slow (a loaded machine).
          while (sentStreamMs - confirmedStreamMs >= leadMs && !cancelled && !this.control.halted) {
            const patienceMs = this.speed > 0 ? Math.min(30_000, Math.max(1_000, 2_000 / this.speed)) : 5_000;
            const now = Date.now();
            // (A Finalize lost to a reconnect is sent again after a while.)
            if (now - lastResultAt > patienceMs && now - finalizeSentAt > 3 * patienceMs) {
              stt.finalize();
              finalizeSentAt = now;
            }
            await new Promise<void>((resolve) => {
              wake = resolve;
              setTimeout(resolve, 250);
            });
            wake = undefined;
          }
          if (cancelled) throw new Cancelled();
          if (this.control.halted) throw new Halted();
          stt.send(carry.subarray(0, FRAME_BYTES));
          carry = carry.subarray(FRAME_BYTES);
          sentStreamMs += FRAME_BYTES / PCM_BYTES_PER_MS;
        }
      }
      if (carry.length >= 2) {
        stt.send(carry.subarray(0, carry.length - (carry.length % 2)));
        sentStreamMs += carry.length / PCM_BYTES_PER_MS;
      }
      const exit = await decoder.done;
      if (cancelled) throw new Cancelled();
      if (this.control.halted) throw new Halted();
      await stt.close();
      await assembler.drain();
      if (assemblerError) throw assemblerError;
      if (this.control.halted) throw new Halted();
      const decodedEndMs = startMs + sentStreamMs;
      this.audioMs = Math.max(this.audioMs, Math.min(this.totalMs, decodedEndMs));
      const short = this.totalMs - decodedEndMs > Math.max(1_000, this.totalMs * 0.02);
      if (exit.code !== 0 || (short && exit.errors !== '')) {
        this.log.warn('decode failed midway', {
          code: exit.code,
          errors: exit.errors.slice(0, 500),
          decodedEndMs,
        });
        const at = formatTime(decodedEndMs);
        return {
          failure: new JobFailure(
            'DECODE_FAILED',
            `The file is truncated or corrupt at ${at} of ${formatTime(this.totalMs)}; the transcript up to ${at} is kept`,
          ),
        };
      }
      if (short) this.totalMs = decodedEndMs; // the container over-stated its length; nothing was lost
      return {};
    } finally {
      clearInterval(ticker);
      decoder.kill();
      if (cancelled || this.control.halted) stt.abandon();
    }
  }

  /** Finalizing: the fan-out has stored every final (the meeting's lastSeq reached the last seq). */
  private async waitUntilStored(): Promise<void> {
    await this.deps.flush();
    await this.waitForStored(this.checkpoint.seq, 'segments not all stored in time; completing anyway');
  }

  /** Waits (bounded by storeTimeoutMs) until the fan-out has stored the finals up to `seq`. */
  private async waitForStored(seq: number, timeoutWarning: string): Promise<void> {
    const deadline = Date.now() + (this.deps.storeTimeoutMs ?? 120_000);
    while (seq > 0) {
      if (this.control.halted) throw new Halted();
      const meeting = await this.deps.meetings.get(this.job.jobId);
      if ((meeting?.lastSeq ?? 0) >= seq) return;
      if (Date.now() > deadline) {
        this.log.warn(timeoutWarning, { lastSeq: meeting?.lastSeq, seq });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  private async complete(): Promise<JobOutcome> {
    const now = new Date().toISOString();
    this.percent = 100;
    this.audioMs = this.totalMs;
    this.eta = { seconds: 0, confidence: 1 };
    const resultLocation = `/meetings/${this.job.jobId}/transcript`;
    // The count and checkpoint go with the end state: finals made after the last progress write
    // (the one the engine sends when the stream closes, at least) are counted only here.
    await this.write({
      stage: 'complete',
      finishedAt: now,
      resultLocation,
      ...this.progressFields(),
      segments: this.segments,
      checkpointSeq: this.checkpoint.seq,
      checkpointMs: this.checkpoint.ms,
    });
    await this.deps.meetings.setStatusIf(this.job.jobId, 'ended', ['joining', 'live']);
    this.events.push(
      { type: 'stage_change', payload: { from: this.stage, to: 'complete', percent: 100, timestamp: now } },
      this.progressMessage(now),
      {
        type: 'complete',
        payload: {
          resultLocation,
          meetingId: this.job.jobId,
          durationSeconds: this.totalMs / 1000,
          segments: this.segments,
          timestamp: now,
        },
      },
    );
    this.stage = 'complete';
    await this.events.flush();
    await this.deps.flush();
    this.log.info('job complete', { segments: this.segments, durationSeconds: this.totalMs / 1000 });
    return 'complete';
  }

  private async fail(failure: JobFailure): Promise<JobOutcome> {
    if (this.control.halted) return 'halted';
    const now = new Date().toISOString();
    this.log.info('job failed', { code: failure.code, message: failure.message });
    await this.deps.flush();
    const written = await this.deps.jobs.update(
      this.job.jobId,
      {
        stage: 'failed',
        finishedAt: now,
        error: { code: failure.code, message: failure.message },
        segments: this.segments,
        checkpointSeq: this.checkpoint.seq,
        checkpointMs: this.checkpoint.ms,
        ...(this.segments > 0 ? { resultLocation: `/meetings/${this.job.jobId}/transcript` } : {}),
      },
      this.owner,
    );
    if (!written) {
      this.events.discard();
      if (this.lease && (await this.deps.jobs.whyNotWritten(this.job.jobId, this.lease.owner)) === 'lost') {
        this.loseLease('another run holds the job');
        return 'halted';
      }
      return 'cancelled';
    }
    await this.deps.meetings.setStatusIf(this.job.jobId, 'failed', ['joining', 'live']);
    this.events.push(
      {
        type: 'stage_change',
        payload: { from: this.stage, to: 'failed', percent: this.percent, timestamp: now },
      },
      {
        type: 'error',
        payload: {
          code: failure.code,
          message: failure.message,
          segmentsKept: this.segments,
          timestamp: now,
        },
      },
    );
    this.stage = 'failed';
    await this.events.flush();
    await this.deps.flush();
    return 'failed';
  }

  private get interval(): number {
    return this.deps.progressIntervalMs ?? PROGRESS_INTERVAL_MS;
  }

  private async moveTo(to: JobStage): Promise<void> {
    const from = this.stage;
    const now = new Date().toISOString();
    await this.write({
      stage: to,
      ...(to === 'decoding' ? { startedAt: now } : {}),
      ...this.progressFields(),
    });
    this.stage = to;
    this.events.push(
      { type: 'stage_change', payload: { from, to, percent: this.percent, timestamp: now } },
      this.progressMessage(now),
    );
  }

  /** One coalesced progress write: checkpoint (only after its segments are sent), state, then the event. */
  private ticking = false;
  private async tick(): Promise<void> {
    if (this.ticking || this.control.halted) return;
    this.ticking = true;
    try {
      const checkpoint = { ...this.checkpoint };
      await this.deps.flush();
      if (this.totalMs > 0) {
        this.percent = Math.max(this.percent, Math.min(99, Math.floor((this.audioMs / this.totalMs) * 100)));
      }
      await this.write({
        ...this.progressFields(),
        checkpointSeq: checkpoint.seq,
        checkpointMs: checkpoint.ms,
        segments: this.segments,
      });
      const now = new Date().toISOString();
      this.events.push(this.progressMessage(now));
      if (this.eta) {
        this.events.push({
          type: 'time_estimate',
          payload: {
            secondsRemaining: Math.round(this.eta.seconds * 10) / 10,
            confidence: this.eta.confidence,
            stage: this.stage,
            timestamp: now,
          },
        });
      }
    } finally {
      this.ticking = false;
    }
  }

  private progressFields(): Partial<Job> {
    return {
      percent: this.percent,
      audioSecondsProcessed: Math.round(this.audioMs) / 1000,
      speed: Math.round(this.speed * 100) / 100,
      ...(this.eta
        ? { etaSeconds: Math.round(this.eta.seconds * 10) / 10, etaConfidence: this.eta.confidence }
        : {}),
    };
  }

  private progressMessage(timestamp: string): JobMessage {
    return {
      type: 'progress_update',
      payload: {
        percent: this.percent,
        stage: this.stage,
        bytesProcessed: this.bytesProcessed,
        bytesTotal: this.job.sizeBytes,
        audioSecondsProcessed: Math.round(this.audioMs) / 1000,
        audioSecondsTotal: this.totalMs / 1000,
        speed: Math.round(this.speed * 100) / 100,
        timestamp,
      },
    };
  }

  /** The run's writes are conditional on its lease (when it holds one). */
  private get owner(): { owner?: string } {
    return this.lease ? { owner: this.lease.owner } : {};
  }

  /**
   * Writes while the job has not ended and this run holds its lease; an ended (cancelled) job
   * stops the run, and so does a lease another run now holds.
   */
  private async write(fields: Partial<Job>): Promise<void> {
    if (this.control.halted) throw new Halted();
    const updated = await this.deps.jobs.update(this.job.jobId, fields, this.owner);
    if (!updated) {
      if (this.lease && (await this.deps.jobs.whyNotWritten(this.job.jobId, this.lease.owner)) === 'lost') {
        this.loseLease('another run holds the job');
        throw new Halted();
      }
      throw new Cancelled();
    }
    this.job = updated;
  }
}

/**
 * The clock of a stream that starts at `startMs` of the file (a resumed job). AudioClock holds a
 * lone first observation as an unconfirmed candidate (it is built for Recall's untrusted
 * timestamps) and maps times 1:1 until a second one confirms it, so the offset is observed
 * twice: without that, a resumed job's segments were timed from 0 instead of from the resume point.
 */
export function clockFrom(startMs: number): AudioClock {
  const clock = new AudioClock();
  if (startMs > 0) {
    clock.observe(0, startMs);
    clock.observe(0, startMs);
  }
  if (clock.toMeetingMs(0) !== startMs)
    throw new Error(`The job clock did not take the offset ${startMs} ms`);
  return clock;
}

function formatTime(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
