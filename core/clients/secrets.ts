import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsConfig, optionalEnv } from '../config';
import { ConfigError } from '../errors';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

/**
 * The SDK module loads on the first secret read, not at module load: a Lambda that reads a
 * secret only for some requests (ws-command: Recall calls) starts ~10–20 ms sooner.
 */
async function readSecretString(arn: string): Promise<string | undefined> {
  const { GetSecretValueCommand, SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  client ??= new SecretsManagerClient({ region: awsConfig().region });
  return (await client.send(new GetSecretValueCommand({ SecretId: arn }))).SecretString;
}

/**
 * A secret such as RECALL_API_KEY. On AWS the stack sets `<NAME>_SECRET_ARN` and the value
 * is read once from Secrets Manager (never placed in the environment); local mode sets
 * `<NAME>` itself. Returns undefined when neither is set (the feature is then off).
 */
export function optionalSecret(name: string, env = process.env): Promise<string | undefined> {
  const direct = optionalEnv(name, env);
  if (direct !== undefined) return Promise.resolve(direct);
  const arn = optionalEnv(`${name}_SECRET_ARN`, env);
  if (arn === undefined) return Promise.resolve(undefined);
  let value = cache.get(arn);
  if (!value) {
    value = readSecretString(arn).then((secret) => {
      if (!secret) throw new ConfigError(`Secret ${name} (${name}_SECRET_ARN) has no string value`);
      return secret.trim();
    });
    value.catch(() => cache.delete(arn));
    cache.set(arn, value);
  }
  return value;
}

export async function requireSecret(name: string, env = process.env): Promise<string> {
  const value = await optionalSecret(name, env);
  if (value === undefined) {
    throw new ConfigError(`${name} (or ${name}_SECRET_ARN) environment variable is not set`);
  }
  return value;
}
