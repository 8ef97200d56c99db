/**
 * A component loaded on first render (a separate chunk), so pages most visits never open (the
 * microphone) stay out of the first load. Renders `fallback` meanwhile, an error if loading fails.
 */
import type { ComponentType, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyComponent<P extends object>(
  load: () => Promise<ComponentType<P>>,
  fallback: JSX.Element | null = null,
): ComponentType<P> {
  let loaded: ComponentType<P> | undefined;
  return function Lazy(props: P) {
    const [component, setComponent] = useState<{ C: ComponentType<P> } | undefined>(
      loaded ? { C: loaded } : undefined,
    );
    const [error, setError] = useState<string>();
    useEffect(() => {
      if (component) return;
      let cancelled = false;
      load().then(
        (C) => {
          loaded = C;
          if (!cancelled) setComponent({ C });
        },
        (e: unknown) => {
          if (!cancelled) setError(e instanceof Error ? e.message : String(e));
        },
      );
      return () => {
        cancelled = true;
      };
    }, [component]);
    if (error) {
      return (
        <p role="alert" class="error">
          This part of the page could not be loaded ({error}). Reload to try again.
        </p>
      );
    }
    if (!component) return fallback;
    const { C } = component;
    return <C {...props} />;
  };
}
