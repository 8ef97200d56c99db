import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsConfig, optionalEnv } from '../config';
import { ConfigError } from '../errors';

let client: SecretsManagerClient | undefined;
const cache = new Map<string, Promise<string>>();

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
    client ??= new SecretsManagerClient({ region: awsConfig().region });
    value = client.send(new GetSecretValueCommand({ SecretId: arn })).then((out) => {
      if (!out.SecretString) throw new ConfigError(`Secret ${name} (${name}_SECRET_ARN) has no string value`);
      return out.SecretString.trim();
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
