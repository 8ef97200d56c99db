import type { MeetingRepository } from './repository';

/**
 * Hands out a meeting's seqs from the counter in DynamoDB, one reservation ahead so the
 * next utterance need not wait for a round trip. A reservation not used before the
 * session ends leaves a gap; seqs stay unique and increasing, which is all readers rely on.
 */
export class SeqAllocator {
  private next_: Promise<number> | undefined;

  constructor(
    private readonly repo: Pick<MeetingRepository, 'reserveSeqs'>,
    private readonly meetingId: string,
  ) {}

  async next(): Promise<number> {
    const seq = await (this.next_ ?? this.reserve());
    this.next_ = this.reserve();
    this.next_.catch(() => undefined); // surfaced by the next call
    return seq;
  }

  private async reserve(): Promise<number> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        return await this.repo.reserveSeqs(this.meetingId, 1);
      } catch (error) {
        lastError = error;
        if ((error as { code?: string }).code === 'MEETING_NOT_FOUND') throw error;
        await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      }
    }
    throw lastError;
  }
}
