import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { mintWithKeyFile } from '../dev-issuer';
import { ENDPOINTS_FILE, type LocalEndpoints } from '../paths';

/** What `npm start` wrote for the CLI tools; a clear message when it is not running. */
export function readLocalEndpoints(): LocalEndpoints {
  try {
    return JSON.parse(readFileSync(ENDPOINTS_FILE, 'utf8')) as LocalEndpoints;
  } catch {
    throw new Error(`No local stack found (${ENDPOINTS_FILE} is missing): run "npm start" first.`);
  }
}

/** A dev token for `user`, signed with the running stack's issuer key. */
export function localToken(user: string, expiresInSeconds = 12 * 3600): Promise<string> {
  const endpoints = readLocalEndpoints();
  return mintWithKeyFile(endpoints.keyFile, endpoints.issuer, endpoints.audience, user, { expiresInSeconds });
}

export function cliArgs<O extends NonNullable<ParseArgsConfig['options']>>(options: O) {
  return parseArgs({ options, allowPositionals: true, strict: true });
}
