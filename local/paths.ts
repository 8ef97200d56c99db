import path from 'node:path';

/** Fixed ports of `npm start`, so URLs and tokens stay valid across restarts. */
export const LOCAL_PORTS = {
  http: 4510,
  ws: 4511,
  audio: 4512,
  speech: 4513,
  recall: 4514,
  issuer: 4515,
  dynamodb: 4516,
  s3: 4517,
  sqs: 4518,
  web: 4519,
} as const;

/** Where `npm start` keeps its data (DynamoDB, S3, the dev issuer's key). */
export const DATA_DIR = path.resolve(__dirname, '..', '.data');
/** Written by `npm start` for the CLI tools: URLs, issuer and key file. */
export const ENDPOINTS_FILE = path.join(DATA_DIR, 'local-endpoints.json');

export interface LocalEndpoints {
  ws: string;
  rest: string;
  issuer: string;
  audience: string;
  keyFile: string;
  /** `npm run sample -- FILE` links files it plays here (a recordings folder of the stack). */
  recordingsDir: string;
}
