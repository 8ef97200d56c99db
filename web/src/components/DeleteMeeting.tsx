import { useRef, useState } from 'preact/hooks';
import type { MeetingStatus } from '../../../core/meetings/model';
import { ApiError } from '../api';
import { useApp } from '../app-context';
import { navigate } from '../router';

/** The statuses `DELETE /meetings/{id}` accepts (any other is 409 MEETING_NOT_OVER). */
const OVER: ReadonlySet<MeetingStatus> = new Set(['ended', 'failed']);

/**
 * The owner's **Delete meeting** once the meeting is over: a confirmation dialog, then
 * `DELETE /meetings/{id}` and back to the meetings list. A refusal is shown inline (a meeting
 * deleted elsewhere meanwhile counts as deleted).
 */
export function DeleteMeeting({
  meetingId,
  status,
}: {
  meetingId: string;
  status: MeetingStatus | undefined;
}) {
  const { api } = useApp();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();

  const remove = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteMeeting(meetingId);
      navigate('/');
    } catch (e) {
      if (e instanceof ApiError && e.code === 'MEETING_NOT_FOUND') {
        navigate('/');
        return;
      }
      setError(e instanceof Error ? e.message : String(e));
      setBusy(false);
    }
  };

  if (!status || !OVER.has(status)) return null;
  return (
    <section class="panel delete-meeting" aria-labelledby="delete-heading">
      <h2 id="delete-heading">Delete</h2>
      <p class="meta">
        The transcript, recording, alerts and briefings, for you and everyone it is shared with.
      </p>
      <button type="button" class="danger" disabled={busy} onClick={() => dialog.current?.showModal()}>
        Delete meeting
      </button>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <dialog ref={dialog} aria-labelledby="delete-title">
        <form
          method="dialog"
          onSubmit={(e) => {
            const submitter = (e as SubmitEvent).submitter as HTMLButtonElement | null;
            if (submitter?.value === 'delete') void remove();
          }}
        >
          <h3 id="delete-title">Delete this meeting?</h3>
          <p>
            Its transcript, recording, keyword alerts and briefings are deleted for you and for everyone it is
            shared with. This cannot be undone.
          </p>
          <div class="button-row">
            <button type="submit" value="cancel">
              Keep it
            </button>
            <button type="submit" value="delete" class="danger">
              Delete meeting
            </button>
          </div>
        </form>
      </dialog>
    </section>
  );
}
