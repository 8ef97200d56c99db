/**
 * The fan-out Lambda (lambdas/fanout): consumes the transcript FIFO queue, stores finals
 * idempotently, and posts transcript, alert and status messages to every subscriber of the
 * meeting through the WebSocket management API, removing connections that are gone.
 */
import type { WebSocketStage } from 'aws-cdk-lib/aws-apigatewayv2';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { QUEUES, type TableKey } from '../../core/resources';
import { grantQueueSend } from '../grants';
import { type FunctionDefaults, ParleyFunction } from './parley-function';
import { Pipeline } from './pipeline';
import { grantConnectionRemoval } from './realtime-api';

export interface TranscriptFanoutProps {
  readonly defaults: FunctionDefaults;
  readonly tables: { readonly [K in TableKey]: Table };
  readonly transcriptQueue: IQueue;
  /** Where the handler parks a record that failed its last delivery (see lambdas/fanout). */
  readonly deadLetterQueue: IQueue;
  readonly stage: WebSocketStage;
  /** OpenAI's key, when the stack has one: the rolling briefing then uses the model. */
  readonly openaiApiKey?: ISecret;
}

export class TranscriptFanout extends Construct {
  readonly function: ParleyFunction;

  constructor(scope: Construct, id: string, props: TranscriptFanoutProps) {
    super(scope, id);
    const { tables } = props;
    this.function = new ParleyFunction(this, 'Fanout', {
      lambda: 'fanout',
      defaults: props.defaults,
      description: `Parley ${props.defaults.stageName}: transcript fan-out to WebSocket subscribers`,
      timeout: Pipeline.consumerTimeout(),
    })
      // TranscriptFanout: keywords (GetItem) and advanceLastSeq (UpdateItem).
      .bindTable('meetings', tables.meetings, ['GetItem', 'UpdateItem'])
      // SegmentRepository: putFinal (PutItem; Query when the old item is not returned), markDelivered.
      .bindTable('segments', tables.segments, ['PutItem', 'UpdateItem', 'Query'])
      // ConnectionRepository.subscribers: query by topic.
      .bindTable('subscriptions', tables.subscriptions, ['Query'])
      // KeywordAlerts: raise (conditional PutItem) and the final's forSeq (Query).
      .bindTable('alerts', tables.alerts, ['PutItem', 'Query'])
      // RollingBriefings: the stored rolling briefing (GetItem, conditional PutItem).
      .bindTable('briefings', tables.briefings, ['GetItem', 'PutItem'])
      .bindManagementApi(props.stage, 'post')
      .consumeQueue('transcriptEvents', props.transcriptQueue)
      .setEnvironment(QUEUES.transcriptEvents.dlq.envVar, props.deadLetterQueue.queueUrl);
    if (props.openaiApiKey) this.function.bindSecret('OPENAI_API_KEY', props.openaiApiKey);
    grantQueueSend(this.function.function, props.deadLetterQueue);
    grantConnectionRemoval(this.function, tables);
  }
}
