/**
 * The SDK clients of this process register here so local mode can close their kept-alive
 * sockets when its stack stops (a Lambda or the container never needs to).
 */
const destroyers = new Set<() => void>();

export function onDestroyClients(destroy: () => void): void {
  destroyers.add(destroy);
}

export function destroyClients(): void {
  for (const destroy of destroyers) destroy();
  destroyers.clear();
}

/** A process-wide client made on first use and forgotten (so made afresh) once destroyed. */
export function lazyClient<T>(create: () => T, destroy: (client: T) => void): () => T {
  let client: T | undefined;
  return () => {
    if (client === undefined) {
      const created = create();
      client = created;
      onDestroyClients(() => {
        destroy(created);
        client = undefined;
      });
    }
    return client;
  };
}
