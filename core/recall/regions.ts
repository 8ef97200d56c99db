/**
 * Recall.ai regions and their API base URLs. Each region is a separate deployment with its own
 * API keys; a bot exists only in the region that created it.
 * https://docs.recall.ai/docs/regions — `https://api.recall.ai` is the same deployment as
 * us-east-1 (kept working for old integrations); Parley always uses the regional host.
 */
export const RECALL_REGIONS = {
  'us-east-1': 'https://us-east-1.recall.ai',
  'us-west-2': 'https://us-west-2.recall.ai',
  'eu-central-1': 'https://eu-central-1.recall.ai',
  'ap-northeast-1': 'https://ap-northeast-1.recall.ai',
} as const;

export type RecallRegion = keyof typeof RECALL_REGIONS;

/** The legacy host, equivalent to us-east-1. */
export const RECALL_LEGACY_BASE_URL = 'https://api.recall.ai';

export function isRecallRegion(value: string): value is RecallRegion {
  return Object.hasOwn(RECALL_REGIONS, value);
}

/** Base URL for a region name; throws a TypeError naming the valid regions otherwise. */
export function recallBaseUrl(region: string): string {
  if (!isRecallRegion(region)) {
    throw new TypeError(
      `Unknown Recall region "${region}"; expected one of ${Object.keys(RECALL_REGIONS).join(', ')}`,
    );
  }
  return RECALL_REGIONS[region];
}
