/**
 * A poller that feeds an SQS queue to a handler the way Lambda's SQS event source mapping does with
 * `ReportBatchItemFailures`, for local mode (the handler is the same one Lambda runs on AWS).
 *
 * - Records have the shape Lambda builds (`aws:sqs`, attributes, message attributes, md5s, ARN, region).
 * - Batches hold at most `batchSize` messages. On FIFO queues a batch holds one message group, each
 *   group has at most one batch with the handler, and order within a group is kept across retries:
 *   local-aws-sqs does not lock groups, so this poller does (messages of a busy group wait here,
 *   received but unhandled, until their turn).
 * - Result: messages not reported in `batchItemFailures` are deleted; reported ones (all of them if
 *   the handler throws or reports an unknown id) return to the queue with `retryDelaySeconds` of
 *   visibility. Later messages of that group wait until the returned ones come back and are handled.
 * - Dead letters: the queue's RedrivePolicy moves a message that failed its `maxReceiveCount`-th
 *   delivery (local-aws-sqs does this itself once aws-emulators.ts fixes its receive count), as SQS
 *   does on AWS. The poller then stops waiting for that message and the group moves on.
 * - Visibility: on AWS a FIFO group's later messages stay in the queue while a batch of the group is
 *   with the function, so their visibility clock starts when Lambda receives them, just before the
 *   invocation. Here they wait in the poller, received, so the poller keeps them invisible
 *   (ChangeMessageVisibility) while they wait, and renews a batch before the handler gets it when
 *   less than its function timeout of visibility is left. Without that, a message held longer than the visibility timeout came
 *   back: handled twice, out of order, with an inflated receive count (DLQ too early).
 * - Function timeout: Lambda stops a function at its timeout and the batch counts as failed (the
 *   result is ignored; the messages come back). AWS requires the function timeout ≤ the queue's
 *   visibility timeout (lib/ sets a sixth), so a running invocation's messages never come back
 *   while it runs. A local handler cannot be stopped: past `functionTimeoutSeconds` its batch
 *   counts as failed, and its group waits for the handler to return (at most one more visibility
 *   timeout) before the retry, so two copies of a message never run at once and the retry comes
 *   first in its group, as on AWS. A copy received meanwhile (the visibility ran out) is that retry.
 */
import type { Logger } from '@aws-lambda-powertools/logger';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type {
  SQSBatchResponse,
  SQSEvent,
  SQSMessageAttributes,
  SQSRecord,
  SQSRecordAttributes,
} from 'aws-lambda';
import { retry } from '../core/backoff';
import { createLogger } from '../core/logger';

export interface SqsEventSourceOptions {
  sqs: SQSClient;
  queueUrl: string;
  queueArn: string;
  /** The queue's DLQ, for log messages and the start-up check of the queue's RedrivePolicy. */
  dlqUrl?: string;
  /** Deliveries after which the queue's RedrivePolicy moves a failing message to the DLQ. */
  maxReceiveCount: number;
  /** At most 10 on FIFO queues, as on AWS. */
  batchSize: number;
  /** Visibility timeout requested on every receive. */
  visibilityTimeoutSeconds: number;
  fifo: boolean;
  // biome-ignore lint/suspicious/noConfusingVoidType: the return type of aws-lambda's SQSHandler, so any handler fits
  handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>;
  logger?: Logger;
  /**
   * ReceiveMessage WaitTimeSeconds. Default 1: a long poll, as Lambda's pollers use (they wait
   * 20 s), answered as soon as a message arrives (local/aws-emulators.ts `fixLocalSqsReceiveWait`).
   * stop() waits for the poll in progress rather than aborting it (a poll aborted just as it is
   * answered would lose its messages for a visibility timeout), so this bounds how long stop takes.
   */
  waitTimeSeconds?: number;
  /**
   * Batches with the handler at the same time (different message groups on FIFO). Default 1,000:
   * on AWS a FIFO event source runs one invocation per active message group, up to the function's
   * concurrency (the account's 1,000 unless reserved), so every meeting has its own.
   */
  maxConcurrentBatches?: number;
  /**
   * Messages received but waiting here for their group (FIFO) or a batch slot, above which the
   * poller stops receiving (unless a group waits for its retries). Default 100 (at least two
   * batches). On AWS a busy group's later messages stay in the queue; here they are received and
   * kept invisible, so this bounds that local-only buffer.
   */
  maxBufferedMessages?: number;
  /**
   * Visibility timeout given to failed messages. Default 0 (retry at once). Lambda on AWS leaves them
   * invisible for the rest of the queue's visibility timeout instead.
   */
  retryDelaySeconds?: number;
  /**
   * The function's timeout: a batch whose handler has not returned by then failed, as on Lambda.
   * At most `visibilityTimeoutSeconds` (AWS refuses an event source mapping otherwise). Default a
   * sixth of it, at least 1 s: AWS's advice, and what lib/ gives the fan-out functions. A handler
   * that returns later than that sixth is logged (warn) whatever this is: on AWS it would time out.
   */
  functionTimeoutSeconds?: number;
}

export interface SqsEventSource {
  /** Stops polling, waits for batches with the handler, returns unhandled messages to the queue. */
  stop(): Promise<void>;
  /** Resolves once the queue is empty and nothing is in flight (for tests). */
  idle(): Promise<void>;
}

type ReceivedMessage = Message & { MessageId: string; ReceiptHandle: string };

interface Group {
  readonly id: string;
  /** Received but not yet handed to the handler, in queue order. */
  waiting: ReceivedMessage[];
  /** A batch of this group is with the handler. */
  busy: boolean;
  /** Failed messages returned to the queue; they go before `waiting` once all are back (or at deadline). */
  retries?: { ids: string[]; back: Map<string, ReceivedMessage>; deadline: number };
}

/** A batch with the handler: copies of its messages received while it runs (their visibility ran out). */
interface Invocation {
  readonly redelivered: Map<string, ReceivedMessage>;
}

const MAX_RECEIVE = 10;
export const DEFAULT_WAIT_SECONDS = 1;
export const DEFAULT_MAX_CONCURRENT_BATCHES = 1_000;
const EMPTY_POLL_PAUSE_MS = 25;
const MAX_ERROR_BACKOFF_MS = 5_000;

export function startSqsEventSource(opts: SqsEventSourceOptions): SqsEventSource {
  if (!Number.isInteger(opts.batchSize) || opts.batchSize < 1) {
    throw new TypeError(`batchSize must be a positive integer, got ${opts.batchSize}`);
  }
  if (opts.fifo && opts.batchSize > 10) throw new TypeError('batchSize must be at most 10 on a FIFO queue');
  if (!Number.isInteger(opts.maxReceiveCount) || opts.maxReceiveCount < 1) {
    throw new TypeError(`maxReceiveCount must be a positive integer, got ${opts.maxReceiveCount}`);
  }
  const visibilitySeconds = opts.visibilityTimeoutSeconds;
  if (!Number.isInteger(visibilitySeconds) || visibilitySeconds < 1) {
    throw new TypeError(`visibilityTimeoutSeconds must be a positive integer, got ${visibilitySeconds}`);
  }
  const deployedTimeoutSeconds = Math.max(1, Math.floor(visibilitySeconds / 6));
  const functionTimeoutSeconds = opts.functionTimeoutSeconds ?? deployedTimeoutSeconds;
  if (!(functionTimeoutSeconds > 0) || functionTimeoutSeconds > visibilitySeconds) {
    throw new TypeError(
      `functionTimeoutSeconds must be above 0 and at most visibilityTimeoutSeconds (${visibilitySeconds}), got ${functionTimeoutSeconds}`,
    );
  }

  const logger = opts.logger ?? createLogger('sqs-event-source');
  const { sqs, queueUrl, queueArn, fifo, batchSize, maxReceiveCount } = opts;
  const waitTimeSeconds = opts.waitTimeSeconds ?? DEFAULT_WAIT_SECONDS;
  const maxConcurrent = opts.maxConcurrentBatches ?? DEFAULT_MAX_CONCURRENT_BATCHES;
  const retryDelaySeconds = opts.retryDelaySeconds ?? 0;
  const awsRegion = queueArn.split(':')[3] ?? '';
  // Receiving stops while this many messages wait here, unless a group waits for its retries.
  const maxBuffered = Math.max(opts.maxBufferedMessages ?? 100, 2 * batchSize);

  const visibilityMs = visibilitySeconds * 1000;
  const groups = new Map<string, Group>(); // FIFO
  let backlog: ReceivedMessage[] = []; // standard queues
  const inFlight = new Set<Promise<void>>();
  /** When each held message (buffered or with the handler) would become visible again, by id. */
  const visibleAt = new Map<string, number>();
  /** Messages with the handler, by id. */
  const inHandler = new Map<string, Invocation>();
  const idleWaiters: Array<() => void> = [];
  let running = true;
  const stopped = new AbortController();
  let wakeUp: (() => void) | undefined;
  let sleepTimer: NodeJS.Timeout | undefined;

  /** Waits for `ms` (or, without it, for the next state change); stop() and finished batches wake it. */
  function sleep(ms?: number): Promise<void> {
    return new Promise<void>((resolve) => {
      wakeUp = resolve;
      if (ms !== undefined) sleepTimer = setTimeout(resolve, ms);
    }).finally(() => {
      clearTimeout(sleepTimer);
      sleepTimer = undefined;
      wakeUp = undefined;
    });
  }
  function wake(): void {
    wakeUp?.();
  }

  function bufferedCount(): number {
    let count = backlog.length;
    for (const group of groups.values()) count += group.waiting.length + (group.retries?.back.size ?? 0);
    return count;
  }
  function awaitingRetries(): boolean {
    for (const group of groups.values()) if (group.retries) return true;
    return false;
  }
  function locallyIdle(): boolean {
    return inFlight.size === 0 && backlog.length === 0 && groups.size === 0;
  }

  function accept(messages: Message[]): void {
    for (const message of messages) {
      if (!message.MessageId || !message.ReceiptHandle) {
        logger.warn('Ignoring a received message without id or receipt handle', { queueUrl });
        continue;
      }
      const received = message as ReceivedMessage;
      visibleAt.set(received.MessageId, Date.now() + visibilityMs);
      const invocation = inHandler.get(received.MessageId);
      if (invocation) {
        // Only past the function timeout (it is at most the visibility timeout): this is the retry.
        logger.warn('Message became visible again while its handler ran past the function timeout', {
          messageId: received.MessageId,
          queueUrl,
        });
        invocation.redelivered.set(received.MessageId, received);
        continue;
      }
      if (!fifo) {
        backlog.push(received);
        continue;
      }
      const groupId = received.Attributes?.MessageGroupId ?? '';
      let group = groups.get(groupId);
      if (!group) {
        group = { id: groupId, waiting: [], busy: false };
        groups.set(groupId, group);
      }
      if (group.retries?.ids.includes(received.MessageId)) {
        group.retries.back.set(received.MessageId, received);
        continue;
      }
      const index = group.waiting.findIndex((m) => m.MessageId === received.MessageId);
      if (index >= 0) {
        // Its visibility timeout ran out while it waited here: keep its place, take the new handle.
        logger.warn('Message became visible again while waiting for its group', {
          messageId: received.MessageId,
          groupId,
        });
        group.waiting[index] = received;
        continue;
      }
      group.waiting.push(received);
    }
  }

  function settleRetries(group: Group): void {
    const retries = group.retries;
    if (!retries) return;
    const complete = retries.back.size === retries.ids.length;
    if (!complete && Date.now() < retries.deadline) return;
    if (!complete) {
      for (const id of retries.ids) if (!retries.back.has(id)) visibleAt.delete(id);
      logger.warn('Returned messages did not come back in time; the group moves on without them', {
        groupId: group.id,
        missing: retries.ids.filter((id) => !retries.back.has(id)),
      });
    }
    const back = retries.ids.flatMap((id) => retries.back.get(id) ?? []);
    group.waiting = [...back, ...group.waiting];
    group.retries = undefined;
  }

  function dispatch(): void {
    if (!running) return;
    if (!fifo) {
      while (backlog.length > 0 && inFlight.size < maxConcurrent) start(backlog.splice(0, batchSize));
      return;
    }
    for (const group of groups.values()) {
      if (inFlight.size >= maxConcurrent) return;
      if (group.busy) continue;
      settleRetries(group);
      if (group.retries) continue;
      if (group.waiting.length === 0) {
        groups.delete(group.id);
        continue;
      }
      start(group.waiting.splice(0, batchSize), group);
    }
  }

  function start(batch: ReceivedMessage[], group?: Group): void {
    if (group) group.busy = true;
    const done = runBatch(batch, group)
      .catch((err: unknown) => logger.error('SQS batch bookkeeping failed', { error: err, queueUrl }))
      .finally(() => {
        if (group) group.busy = false;
        inFlight.delete(done);
        dispatch();
        wake();
        // A long poll may hold the poller for its whole wait: check idleness when work ends too.
        checkIdle();
      });
    inFlight.add(done);
  }

  /**
   * Runs the handler on one batch, deletes what succeeded, returns the failed messages to the
   * queue (on FIFO, the group then waits for them: `retries`).
   */
  async function runBatch(batch: ReceivedMessage[], group?: Group): Promise<void> {
    const invocation: Invocation = { redelivered: new Map() };
    for (const m of batch) inHandler.set(m.MessageId, invocation);
    let failedIds: ReadonlySet<string>;
    try {
      // As if Lambda had received them just now: at least the function timeout of visibility, so a
      // batch's messages never come back while it may still run (AWS: function timeout ≤ visibility).
      await keepInvisible(
        batch.filter((m) => (visibleAt.get(m.MessageId) ?? 0) - Date.now() < functionTimeoutSeconds * 1000),
      );
      failedIds = await invoke(batch);
    } catch (err) {
      for (const m of batch) inHandler.delete(m.MessageId);
      throw err;
    }
    // From here to the first await: synchronous, so a copy received meanwhile finds `retries` set.
    for (const m of batch) inHandler.delete(m.MessageId);
    const { redelivered } = invocation;
    const succeeded = batch.filter((m) => !failedIds.has(m.MessageId));
    const failed = batch.filter((m) => failedIds.has(m.MessageId));
    for (const m of succeeded) {
      if (redelivered.has(m.MessageId)) {
        logger.warn('Handled message was received again meanwhile; deleting the copy', {
          messageId: m.MessageId,
          queueUrl,
        });
      }
    }
    for (const m of failed) {
      if (!redelivered.has(m.MessageId) && receiveCount(m) >= maxReceiveCount) {
        logger.warn('Message failed its last delivery; the queue moves it to the DLQ', {
          messageId: m.MessageId,
          receiveCount: receiveCount(m),
          dlqUrl: opts.dlqUrl,
        });
      }
    }
    // Failed messages already received again are the retry itself; the others go back to the queue.
    const copies = failed.flatMap((m) => redelivered.get(m.MessageId) ?? []);
    const toReturn = failed.filter((m) => !redelivered.has(m.MessageId));
    if (group) {
      // Messages at their last delivery go to the DLQ (RedrivePolicy); the others come back.
      const returning = [...copies, ...toReturn.filter((m) => receiveCount(m) < maxReceiveCount)];
      if (returning.length > 0) {
        const byId = new Map(returning.map((m) => [m.MessageId, m]));
        const waitSeconds = Math.max(retryDelaySeconds, visibilitySeconds) + 5;
        group.retries = {
          ids: failed.map((m) => m.MessageId).filter((id) => byId.has(id)),
          back: new Map(copies.map((m) => [m.MessageId, m])),
          deadline: Date.now() + waitSeconds * 1000,
        };
      }
    } else {
      backlog.push(...copies);
    }
    const held = new Set(copies.map((m) => m.MessageId));
    for (const m of batch) if (!held.has(m.MessageId)) visibleAt.delete(m.MessageId);
    await Promise.all([
      deleteMessages(succeeded.map((m) => redelivered.get(m.MessageId) ?? m)),
      returnMessages(toReturn, retryDelaySeconds),
    ]);
  }

  /**
   * Calls the handler; past the function timeout the batch failed, as on Lambda. Lambda would stop
   * the function there; a local handler runs on, so this waits for it (at most one visibility
   * timeout more) before its group's retry, which would otherwise run beside it.
   */
  async function invoke(batch: ReceivedMessage[]): Promise<ReadonlySet<string>> {
    const event: SQSEvent = { Records: batch.map((m) => toRecord(m, queueArn, awsRegion)) };
    const all = new Set(batch.map((m) => m.MessageId));
    const call = (async () => opts.handler(event))().then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    const startedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), functionTimeoutSeconds * 1000);
    });
    const outcome = await Promise.race([call, timedOut]).finally(() => clearTimeout(timer));
    if (outcome === 'timeout') {
      logger.error('SQS handler ran past its function timeout; as on Lambda, the whole batch failed', {
        functionTimeoutSeconds,
        messageIds: [...all],
        queueUrl,
      });
      let grace: NodeJS.Timeout | undefined;
      const returned = await Promise.race([
        call.then(() => true),
        new Promise<false>((resolve) => {
          grace = setTimeout(() => resolve(false), visibilityMs);
        }),
      ]).finally(() => clearTimeout(grace));
      if (!returned) {
        logger.error(
          'SQS handler still running a visibility timeout after its function timeout; retrying beside it',
          {
            messageIds: [...all],
            queueUrl,
          },
        );
      }
      return all;
    }
    const tookMs = Date.now() - startedAt;
    if (tookMs > deployedTimeoutSeconds * 1000) {
      logger.warn('SQS handler took longer than the deployed function timeout (a sixth of the visibility)', {
        tookMs,
        deployedTimeoutSeconds,
        queueUrl,
      });
    }
    if ('error' in outcome) {
      logger.warn('SQS handler threw; the whole batch returns to the queue', {
        error: outcome.error,
        queueUrl,
      });
      return all;
    }
    return failuresOf(outcome.result, batch);
  }

  /** Sets the visibility of up to 10 messages; resolves with the entries SQS refused. */
  async function changeVisibility(chunk: ReceivedMessage[], seconds: number) {
    const out = await sqs.send(
      new ChangeMessageVisibilityBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((m, index) => ({
          Id: String(index),
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: seconds,
        })),
      }),
    );
    return out.Failed ?? [];
  }

  /** Keeps held messages invisible for another visibility timeout. */
  async function keepInvisible(messages: ReceivedMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += MAX_RECEIVE) {
      const chunk = messages.slice(i, i + MAX_RECEIVE);
      const until = Date.now() + visibilityMs;
      try {
        const refused = await changeVisibility(chunk, visibilitySeconds);
        const failed = new Set(refused.map((f) => f.Id));
        chunk.forEach((m, index) => {
          if (!failed.has(String(index)) && visibleAt.has(m.MessageId)) visibleAt.set(m.MessageId, until);
        });
        if (failed.size > 0) {
          logger.warn('Held messages became visible before they could be kept; they come back once more', {
            failed: refused,
            queueUrl,
          });
        }
      } catch (err) {
        logger.warn('Could not keep held messages invisible; they may come back once more', {
          error: err,
          queueUrl,
        });
      }
    }
  }

  /** The messages this poller holds for their turn (not those with the handler). */
  function buffered(): ReceivedMessage[] {
    const out = [...backlog];
    for (const group of groups.values()) out.push(...group.waiting, ...(group.retries?.back.values() ?? []));
    return out;
  }

  let keeping = false;
  /** Renews the visibility of held messages with less than half of it left. */
  function keepBufferedInvisible(): void {
    if (!running || keeping) return;
    const due = Date.now() + visibilityMs / 2;
    const stale = buffered().filter((m) => (visibleAt.get(m.MessageId) ?? 0) < due);
    if (stale.length === 0) return;
    keeping = true;
    keepInvisible(stale).finally(() => {
      keeping = false;
    });
  }
  const keepAliveTimer = setInterval(keepBufferedInvisible, Math.max(100, visibilityMs / 4));
  keepAliveTimer.unref();

  function failuresOf(result: unknown, batch: ReceivedMessage[]): ReadonlySet<string> {
    const all = new Set(batch.map((m) => m.MessageId));
    // As Lambda: no response, or a null or empty list, is full success.
    if (result === undefined || result === null) return new Set();
    const items: unknown = (result as { batchItemFailures?: unknown }).batchItemFailures;
    if (items === undefined || items === null) return new Set();
    if (!Array.isArray(items)) {
      logger.warn('batchItemFailures is not a list; the whole batch failed', { queueUrl });
      return all;
    }
    const failed = new Set<string>();
    for (const item of items) {
      const id: unknown = (item as { itemIdentifier?: unknown } | null)?.itemIdentifier;
      // As Lambda: an empty, missing or unknown itemIdentifier fails the whole batch.
      if (typeof id !== 'string' || !all.has(id)) {
        logger.warn('Invalid itemIdentifier in batchItemFailures; the whole batch failed', {
          itemIdentifier: id,
          queueUrl,
        });
        return all;
      }
      failed.add(id);
    }
    return failed;
  }

  async function deleteMessages(messages: ReceivedMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += MAX_RECEIVE) {
      const chunk = messages.slice(i, i + MAX_RECEIVE);
      try {
        const out = await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: chunk.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
          }),
        );
        if (out.Failed?.length) {
          logger.error('Could not delete handled messages; they will be delivered again', {
            failed: out.Failed,
            queueUrl,
          });
        }
      } catch (err) {
        logger.error('Could not delete handled messages; they will be delivered again', {
          error: err,
          queueUrl,
        });
      }
    }
  }

  async function returnMessages(messages: ReceivedMessage[], visibilityTimeout: number): Promise<void> {
    for (let i = 0; i < messages.length; i += MAX_RECEIVE) {
      const chunk = messages.slice(i, i + MAX_RECEIVE);
      const failure = await changeVisibility(chunk, visibilityTimeout).then(
        (refused) => (refused.length > 0 ? { failed: refused } : undefined),
        (error: unknown) => ({ error }),
      );
      if (failure) {
        logger.warn('Could not return messages early; they come back after their visibility timeout', {
          ...failure,
          queueUrl,
        });
      }
    }
  }

  async function checkRedrivePolicy(): Promise<void> {
    try {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }),
      );
      const policy = Attributes?.RedrivePolicy
        ? (JSON.parse(Attributes.RedrivePolicy) as {
            deadLetterTargetArn?: string;
            maxReceiveCount?: unknown;
          })
        : undefined;
      const dlqName = opts.dlqUrl?.split('/').pop();
      const matches =
        policy !== undefined &&
        Number(policy.maxReceiveCount) === maxReceiveCount &&
        (dlqName === undefined || policy.deadLetterTargetArn?.endsWith(`:${dlqName}`) === true);
      if (!matches) {
        logger.warn(
          'The queue RedrivePolicy does not match this event source; failing messages may never reach the DLQ',
          {
            queueUrl,
            redrivePolicy: Attributes?.RedrivePolicy ?? null,
            maxReceiveCount,
            dlqUrl: opts.dlqUrl,
          },
        );
      }
    } catch (err) {
      logger.warn('Could not read the queue RedrivePolicy', { error: err, queueUrl });
    }
  }

  function checkIdle(): void {
    if (idleWaiters.length === 0 || !locallyIdle()) return;
    resolveIdleWaiters().catch((err: unknown) =>
      logger.warn('Could not read queue depth', { error: err, queueUrl }),
    );
  }

  async function resolveIdleWaiters(): Promise<void> {
    if (idleWaiters.length === 0 || !locallyIdle()) return;
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({
        QueueUrl: queueUrl,
        AttributeNames: [
          'ApproximateNumberOfMessages',
          'ApproximateNumberOfMessagesNotVisible',
          'ApproximateNumberOfMessagesDelayed',
        ],
      }),
    );
    const empty =
      Number(Attributes?.ApproximateNumberOfMessages ?? 0) === 0 &&
      Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0) === 0 &&
      Number(Attributes?.ApproximateNumberOfMessagesDelayed ?? 0) === 0;
    if (empty && locallyIdle()) for (const resolve of idleWaiters.splice(0)) resolve();
  }

  async function poll(): Promise<void> {
    await checkRedrivePolicy();
    while (running) {
      if (bufferedCount() >= maxBuffered && !awaitingRetries()) {
        await sleep();
        continue;
      }
      let messages: Message[];
      try {
        // A failing receive is retried with backoff until it answers or stop() aborts the wait.
        const out = await retry(
          () =>
            sqs.send(
              new ReceiveMessageCommand({
                QueueUrl: queueUrl,
                MaxNumberOfMessages: MAX_RECEIVE,
                WaitTimeSeconds: waitTimeSeconds,
                VisibilityTimeout: opts.visibilityTimeoutSeconds,
                // local-aws-sqs returns system attributes only for the deprecated AttributeNames.
                AttributeNames: ['All'],
                MessageSystemAttributeNames: ['All'],
                MessageAttributeNames: ['All'],
              }),
            ),
          {
            maxAttempts: Number.POSITIVE_INFINITY,
            baseMs: 200,
            maxDelayMs: MAX_ERROR_BACKOFF_MS,
            jitter: 'none',
            signal: stopped.signal,
            onRetry: ({ error }) => logger.error('ReceiveMessage failed; retrying', { error, queueUrl }),
          },
        );
        messages = out.Messages ?? [];
      } catch {
        break; // stop() aborted the retries
      }
      accept(messages);
      dispatch();
      if (messages.length === 0) {
        try {
          await resolveIdleWaiters();
        } catch (err) {
          logger.warn('Could not read queue depth', { error: err, queueUrl });
        }
        if (running && waitTimeSeconds === 0) await sleep(EMPTY_POLL_PAUSE_MS);
      }
    }
  }

  const polling = poll().catch((err: unknown) =>
    logger.error('SQS poller stopped', { error: err, queueUrl }),
  );

  let stopping: Promise<void> | undefined;
  async function shutdown(): Promise<void> {
    running = false;
    clearInterval(keepAliveTimer);
    stopped.abort();
    wake();
    await polling;
    while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
    // Received but never handed to the handler: make them visible again for the next consumer.
    const unhandled = [...backlog];
    for (const group of groups.values())
      unhandled.push(...(group.retries?.back.values() ?? []), ...group.waiting);
    backlog = [];
    groups.clear();
    visibleAt.clear();
    await returnMessages(unhandled, 0);
    for (const resolve of idleWaiters.splice(0)) resolve();
  }

  return {
    stop() {
      stopping ??= shutdown();
      return stopping;
    },
    idle() {
      if (!running) return stopping ?? Promise.resolve();
      const idle = new Promise<void>((resolve) => idleWaiters.push(resolve));
      checkIdle();
      return idle;
    },
  };
}

function receiveCount(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? '1');
}

/** The record Lambda's SQS event source builds from a received message. */
export function toRecord(message: ReceivedMessage, queueArn: string, awsRegion: string): SQSRecord {
  const a = message.Attributes ?? {};
  const attributes: SQSRecordAttributes = {
    ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
    SentTimestamp: a.SentTimestamp ?? '',
    SenderId: a.SenderId ?? '',
    ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
  };
  if (a.SequenceNumber) attributes.SequenceNumber = a.SequenceNumber;
  if (a.MessageGroupId) attributes.MessageGroupId = a.MessageGroupId;
  if (a.MessageDeduplicationId) attributes.MessageDeduplicationId = a.MessageDeduplicationId;
  if (a.AWSTraceHeader) attributes.AWSTraceHeader = a.AWSTraceHeader;
  if (a.DeadLetterQueueSourceArn) attributes.DeadLetterQueueSourceArn = a.DeadLetterQueueSourceArn;

  const messageAttributes: SQSMessageAttributes = {};
  for (const [name, value] of Object.entries(message.MessageAttributes ?? {})) {
    messageAttributes[name] = {
      dataType: value.DataType ?? 'String',
      ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
      ...(value.BinaryValue !== undefined
        ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') }
        : {}),
      stringListValues: value.StringListValues ?? [],
      binaryListValues: (value.BinaryListValues ?? []).map((b) => Buffer.from(b).toString('base64')),
    };
  }

  const record: SQSRecord = {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body ?? '',
    attributes,
    messageAttributes,
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion,
  };
  if (message.MD5OfMessageAttributes) record.md5OfMessageAttributes = message.MD5OfMessageAttributes;
  return record;
}
