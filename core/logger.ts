import { Logger } from '@aws-lambda-powertools/logger';

/**
 * Parley logs structured JSON through Powertools everywhere (Lambdas, the container, local
 * mode). Log level comes from POWERTOOLS_LOG_LEVEL / LOG_LEVEL. Never log secrets or tokens.
 */
export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName });
}
