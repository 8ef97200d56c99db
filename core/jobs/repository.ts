/** File transcription jobs (stage, percent, ETA, result), read by the realtime API. */
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { dynamo } from '../clients/dynamodb';
import { tableName } from '../config';

export interface Job {
  jobId: string;
  ownerId: string;
  stage: string;
  percent: number;
  etaSeconds?: number;
  resultKey?: string;
  createdAt: string;
  updatedAt: string;
}

export class JobRepository {
  constructor(private readonly table: string = tableName('jobs')) {}

  async get(jobId: string): Promise<Job | undefined> {
    const out = await dynamo().send(new GetCommand({ TableName: this.table, Key: { jobId } }));
    return out.Item as Job | undefined;
  }
}
