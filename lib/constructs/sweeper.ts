/**
 * The stuck-meeting sweeper (lambdas/sweeper, core/meetings/stuck-sweeper.ts) on a schedule:
 * every SWEEP_INTERVAL it ends meetings left in `disconnecting` with no gateway task. Events
 * that EventBridge cannot deliver land in a dead-letter queue (alarmed in Monitoring).
 */
import { Duration, type RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge } from '../nag';
import { type FunctionDefaults, ParleyFunction } from './parley-function';

export const SWEEP_INTERVAL = Duration.minutes(5);

export interface StuckMeetingSweeperProps {
  readonly defaults: FunctionDefaults;
  readonly meetingsTable: ITable;
  readonly transcriptQueue: IQueue;
}

export class StuckMeetingSweeper extends Construct {
  readonly function: ParleyFunction;
  readonly deadLetterQueue: sqs.Queue;
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: StuckMeetingSweeperProps) {
    super(scope, id);
    this.function = new ParleyFunction(this, 'Sweeper', {
      lambda: 'sweeper',
      defaults: props.defaults,
      description: `Parley ${props.defaults.stageName}: ends meetings stuck in disconnecting`,
      timeout: Duration.seconds(60),
    })
      // A filtered scan for stuck meetings, then MeetingRepository.setStatusIf per meeting.
      .bindTable('meetings', props.meetingsTable, ['Scan', 'UpdateItem'])
      // The `status: ended` event to the meeting's subscribers.
      .bindQueue('transcriptEvents', props.transcriptQueue, 'send');

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetters', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: props.defaults.removalPolicy as RemovalPolicy,
    });
    acknowledge(
      this.deadLetterQueue,
      'AwsSolutions-SQS3',
      'This queue is itself the dead-letter queue of the sweeper schedule (an EventBridge target DLQ, which cdk-nag does not recognize as one).',
    );
    this.rule = new events.Rule(this, 'Schedule', {
      description: `Parley ${props.defaults.stageName}: sweep meetings stuck in disconnecting`,
      schedule: events.Schedule.rate(SWEEP_INTERVAL),
    });
    this.rule.addTarget(
      new targets.LambdaFunction(this.function.function, {
        deadLetterQueue: this.deadLetterQueue,
        retryAttempts: 2,
        maxEventAge: SWEEP_INTERVAL,
      }),
    );
  }
}
