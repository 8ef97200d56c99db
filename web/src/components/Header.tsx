import { useApp } from '../app-context';
import { onLinkClick } from '../router';

export function Header() {
  const { config, auth, userId } = useApp();
  return (
    <header class="site-header">
      <a class="brand" href="/" onClick={onLinkClick}>
        Parley
      </a>
      <span class="stage" title="Stage">
        {config.stage}
      </span>
      <nav aria-label="Main">
        <a href="/" onClick={onLinkClick}>
          Meetings
        </a>
        <a href="/new" onClick={onLinkClick}>
          New meeting
        </a>
        <a href="/record" onClick={onLinkClick}>
          Record
        </a>
        <a href="/upload" onClick={onLinkClick}>
          Upload
        </a>
        <a href="/jobs" onClick={onLinkClick}>
          Transcriptions
        </a>
      </nav>
      <span class="user">
        Signed in as <strong data-testid="user-id">{userId}</strong>
      </span>
      <button type="button" class="link-button" onClick={() => void auth.signOut()}>
        Sign out
      </button>
    </header>
  );
}
