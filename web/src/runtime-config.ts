/** Loads and validates `/config.json` (core/web/config.ts): one build, any stage. */
import { type WebConfig, WebConfigSchema } from '../../core/web/config';

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export async function loadConfig(): Promise<WebConfig> {
  let res: Response;
  try {
    res = await fetch('/config.json', { cache: 'no-store' });
  } catch {
    throw new ConfigError('Cannot reach /config.json: is the web app served by Parley?');
  }
  if (!res.ok) throw new ConfigError(`/config.json answered ${res.status}`);
  const parsed = WebConfigSchema.safeParse(await res.json().catch(() => undefined));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ConfigError(`/config.json is invalid: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  return parsed.data;
}
