import { lazyComponent } from '../lazy';
import { useRoute } from '../router';
import { Header } from './Header';
import { JobsRoute } from './JobsRoute';
import { MeetingPage } from './MeetingPage';
import { MeetingsPage } from './MeetingsPage';
import { NewMeetingPage } from './NewMeetingPage';

/** The record page and the microphone code load only when opened (docs/web-app.md). */
const RecordPage = lazyComponent(() => import('../mic/RecordPage').then((m) => m.RecordPage));

export function App() {
  const route = useRoute();
  return (
    <>
      <a class="skip-link" href="#content">
        Skip to content
      </a>
      <Header />
      <div id="content">
        {route.name === 'meetings' || route.name === 'callback' ? (
          <MeetingsPage />
        ) : route.name === 'new' ? (
          <NewMeetingPage />
        ) : route.name === 'record' ? (
          <RecordPage />
        ) : route.name === 'meeting' ? (
          <MeetingPage key={route.meetingId} meetingId={route.meetingId} />
        ) : route.name === 'jobs' || route.name === 'upload' || route.name === 'job' ? (
          <JobsRoute route={route} />
        ) : (
          <main class="page">
            <h1>Page not found</h1>
          </main>
        )}
      </div>
    </>
  );
}
