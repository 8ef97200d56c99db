/** A tiny history router: the path is state, `navigate` pushes, components read `useRoute()`. */
import { useEffect, useState } from 'preact/hooks';

export type Route =
  | { name: 'meetings' }
  | { name: 'new' }
  | { name: 'record' }
  | { name: 'meeting'; meetingId: string }
  | { name: 'jobs' }
  | { name: 'upload' }
  | { name: 'job'; jobId: string }
  | { name: 'callback' }
  | { name: 'not-found' };

export function parseRoute(pathname: string): Route {
  if (pathname === '/' || pathname === '/meetings') return { name: 'meetings' };
  if (pathname === '/new') return { name: 'new' };
  if (pathname === '/record') return { name: 'record' };
  if (pathname === '/callback') return { name: 'callback' };
  const match = /^\/meetings\/([A-Za-z0-9_-]{1,64})$/.exec(pathname);
  if (match?.[1]) return { name: 'meeting', meetingId: match[1] };
  if (pathname === '/jobs') return { name: 'jobs' };
  if (pathname === '/upload') return { name: 'upload' };
  const job = /^\/jobs\/([A-Za-z0-9_-]{1,64})$/.exec(pathname);
  if (job?.[1]) return { name: 'job', jobId: job[1] };
  return { name: 'not-found' };
}

const listeners = new Set<() => void>();

export function navigate(path: string, replace = false): void {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  for (const fn of listeners) fn();
}

addEventListener('popstate', () => {
  for (const fn of listeners) fn();
});

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.pathname));
    listeners.add(update);
    return () => {
      listeners.delete(update);
    };
  }, []);
  return route;
}

/** Same-origin links that navigate without a reload (middle-click and modifiers still work). */
export function onLinkClick(event: MouseEvent): void {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey)
    return;
  const anchor = (event.currentTarget as HTMLAnchorElement | null) ?? undefined;
  const href = anchor?.getAttribute('href');
  if (!href?.startsWith('/')) return;
  event.preventDefault();
  navigate(href);
}
