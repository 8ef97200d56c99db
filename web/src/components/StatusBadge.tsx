import type { MeetingStatus } from '../../../core/meetings/model';

const LABELS: Record<MeetingStatus, string> = {
  joining: 'Joining',
  live: 'Live',
  paused: 'Paused',
  disconnecting: 'Leaving',
  ended: 'Ended',
  failed: 'Failed',
};

export function StatusBadge({ status }: { status: MeetingStatus | undefined }) {
  if (!status) return <span class="badge">…</span>;
  return <span class={`badge badge-${status}`}>{LABELS[status]}</span>;
}
