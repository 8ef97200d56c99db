import { retry } from '../backoff';
import type { MeetingRepository } from './repository';

/**
 * Seqs reserved per DynamoDB write while a session runs: one counter update per 10 finals
 * instead of one per final (docs/benchmarks.md, issue #15.5).
 */
export const SEQ_BLOCK = 10;

/** Reserved seqs `next`…`end` not handed out yet. */
interface Block {
  next: number;
  end: number;
}

/**
 * Hands out a meeting's seqs from the counter in DynamoDB, `blockSize` per reservation, and
 * reserves the next block as the last seq of one is handed out, so no utterance waits for a
 * round trip. Seqs stay unique and increasing, which is all readers rely on; a reservation not
 * used before the session ends leaves a gap.
 *
 * When its session starts to finish (it ends, or hands over), `singles()` gives the unused rest
 * of the block back and reserves one seq at a time from then on: a handover's last finals take
 * seqs just as they did with one reservation ahead, so the next task continues without a gap
 * (it reserves only once this one has cleared its handover mark), and a stopping task that
 * outlives its mark takes no block below the next task's seqs. A crashed task's unused block is
 * a gap of at most `blockSize` seqs. A failed reservation is never kept: the next call reserves
 * afresh. Calls run one after another, in call order.
 */
export class SeqAllocator {
  private block: Block | undefined;
  private ahead: Promise<Block> | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: Pick<MeetingRepository, 'reserveSeqs' | 'releaseSeq'>,
    private readonly meetingId: string,
    private readonly attempts = 5,
    private blockSize = SEQ_BLOCK,
  ) {}

  next(): Promise<number> {
    return this.serial(() => this.take());
  }

  /**
   * From now on one seq at a time (the session is finishing): the unused rest of the block, or
   * the block reserved ahead, is given back. Best effort: a rest that cannot be given back
   * (another task reserved since) is left as a gap, never used below that task's seqs.
   */
  singles(): Promise<void> {
    return this.serial(async () => {
      this.blockSize = 1;
      await this.giveBack();
    });
  }

  /**
   * Gives back what is reserved and unused (the session is stopping), so the meeting's next
   * session continues without a gap. Best effort: a gap is allowed, only order and uniqueness are not.
   */
  release(): Promise<void> {
    return this.serial(() => this.giveBack());
  }

  private async take(): Promise<number> {
    if (!this.block || this.block.next > this.block.end) {
      const ahead = this.ahead;
      this.ahead = undefined;
      try {
        this.block = await (ahead ?? this.reserve());
      } catch (error) {
        if (!ahead || isMissingMeeting(error)) throw error;
        this.block = await this.reserve(); // the prefetch failed: try once more now, in full
      }
    }
    const seq = this.block.next++;
    if (this.block.next > this.block.end) {
      const ahead = this.reserve();
      ahead.catch(() => undefined); // a failed prefetch is dropped by the next call
      this.ahead = ahead;
    }
    return seq;
  }

  private async giveBack(): Promise<void> {
    const ahead = this.ahead;
    const block = this.block;
    this.ahead = undefined;
    this.block = undefined;
    let unused: Block | undefined;
    try {
      unused = ahead ? await ahead : block && block.next <= block.end ? block : undefined;
      if (unused) await this.repo.releaseSeq(this.meetingId, unused.end, unused.next);
    } catch {
      // a failed prefetch or release leaves a gap, nothing worse
    }
  }

  private async reserve(): Promise<Block> {
    const count = this.blockSize;
    const first = await retry(() => this.repo.reserveSeqs(this.meetingId, count), {
      maxAttempts: this.attempts,
      retryable: (error) => !isMissingMeeting(error),
    });
    return { next: first, end: first + count - 1 };
  }

  private serial<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queue.then(op, op);
    this.queue = run.catch(() => undefined);
    return run;
  }
}

function isMissingMeeting(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'MEETING_NOT_FOUND';
}
