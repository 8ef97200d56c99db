import type { MeetingRepository } from './repository';

/**
 * Hands out a meeting's seqs from the counter in DynamoDB, one reservation ahead so the
 * next utterance need not wait for a round trip. A reservation not used before the
 * session ends leaves a gap; seqs stay unique and increasing, which is all readers rely on.
 * A failed reservation is never kept: the next call reserves afresh.
 */
export class SeqAllocator {
  private next_: Promise<number> | undefined;

  constructor(
    private readonly repo: Pick<MeetingRepository, 'reserveSeqs' | 'releaseSeq'>,
    private readonly meetingId: string,
    private readonly attempts = 5,
  ) {}

  async next(): Promise<number> {
    const prefetched = this.next_;
    this.next_ = undefined;
    let seq: number;
    try {
      seq = await (prefetched ?? this.reserve());
    } catch (error) {
      if (!prefetched || isMissingMeeting(error)) throw error;
      seq = await this.reserve(); // the prefetch failed: try once more now, in full
    }
    const ahead = this.reserve();
    ahead.catch(() => undefined); // a failed prefetch is dropped by the next call
    this.next_ = ahead;
    return seq;
  }

  /**
   * Gives back the prefetched seq (the session is stopping), so the meeting's next session
   * continues without a gap. Best effort: a gap is allowed, only order and uniqueness are not.
   */
  async release(): Promise<void> {
    const prefetched = this.next_;
    this.next_ = undefined;
    if (!prefetched) return;
    try {
      await this.repo.releaseSeq(this.meetingId, await prefetched);
    } catch {
      // a failed prefetch or release leaves a gap, nothing worse
    }
  }

  private async reserve(): Promise<number> {
    let lastError: unknown;
    for (let attempt = 0; attempt < this.attempts; attempt++) {
      try {
        return await this.repo.reserveSeqs(this.meetingId, 1);
      } catch (error) {
        lastError = error;
        if (isMissingMeeting(error)) throw error;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    throw lastError;
  }
}

function isMissingMeeting(error: unknown): boolean {
  return (error as { code?: string } | undefined)?.code === 'MEETING_NOT_FOUND';
}
