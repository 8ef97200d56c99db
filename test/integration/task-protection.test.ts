/**
 * containers/audio-gateway/task-protection.ts against a local HTTP server that speaks the ECS
 * agent's task-protection endpoint (`PUT/GET /task-protection/v1/state`, the agent's JSON
 * shapes) and the task metadata endpoint (`GET /task`).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  PROTECTION_MINUTES,
  parseProtectionResponse,
  TaskProtection,
  TaskProtectionError,
  watchTaskStopping,
} from '../../containers/audio-gateway/task-protection';

interface Call {
  method: string;
  url: string;
  body: Record<string, unknown> | undefined;
}

/** A fake ECS agent: records calls; answers per `mode`. */
class FakeAgent {
  calls: Call[] = [];
  mode: 'ok' | 'failure' | 'error' = 'ok';
  desiredStatus = 'RUNNING';
  private state = { ProtectionEnabled: false, ExpirationDate: undefined as string | undefined };
  private server!: Server;
  uri = '';

  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const body = await readBody(req);
      this.calls.push({ method: req.method ?? '', url: req.url ?? '', body });
      const send = (status: number, json: unknown) =>
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(json));
      const taskArn = 'arn:aws:ecs:eu-west-1:123456789012:task/parley/abc';
      if (req.url === '/task') return send(200, { TaskARN: taskArn, DesiredStatus: this.desiredStatus });
      if (req.url !== '/task-protection/v1/state') return send(404, {});
      if (this.mode === 'failure')
        return send(200, { failure: { Arn: taskArn, Reason: 'TASK_NOT_VALID', Detail: null } });
      if (this.mode === 'error')
        return send(400, { error: { Arn: taskArn, Code: 'AccessDeniedException', Message: 'not allowed' } });
      if (req.method === 'PUT') {
        const enabled = body?.ProtectionEnabled === true;
        const minutes = Number(body?.ExpiresInMinutes ?? 120);
        this.state = {
          ProtectionEnabled: enabled,
          ExpirationDate: enabled ? new Date(Date.UTC(2026, 11, 1, 12, minutes)).toISOString() : undefined,
        };
      }
      return send(200, { protection: { ...this.state, TaskArn: taskArn } });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.uri = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  puts(): unknown[] {
    return this.calls.filter((c) => c.method === 'PUT').map((c) => c.body);
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown> | undefined> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
}

const logger = { info: jest.fn(), warn: jest.fn() };
let agent: FakeAgent;

beforeEach(async () => {
  agent = new FakeAgent();
  await agent.start();
  logger.info.mockReset();
  logger.warn.mockReset();
});
afterEach(() => agent.stop());

function protection(sessions: { n: number }, clock: { t: number }) {
  return new TaskProtection({
    agentUri: agent.uri,
    sessionCount: () => sessions.n,
    logger,
    now: () => clock.t,
    renewEveryMs: 5 * 60_000,
    maxContinuousProtectionMs: 45 * 60_000,
  });
}

describe('task scale-in protection', () => {
  it('protects the task while it holds meetings and releases it when idle', async () => {
    const sessions = { n: 0 };
    const clock = { t: 0 };
    const p = protection(sessions, clock);

    await p.tick();
    expect(agent.puts()).toEqual([]);

    sessions.n = 2;
    await p.tick();
    expect(p.isProtected).toBe(true);
    expect(agent.puts()).toEqual([{ ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES }]);

    clock.t += 60_000;
    await p.tick();
    expect(agent.puts()).toHaveLength(1);

    sessions.n = 0;
    await p.tick();
    expect(p.isProtected).toBe(false);
    expect(agent.puts()).toEqual([
      { ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES },
      { ProtectionEnabled: false },
    ]);
  });

  it('renews protection before it expires while meetings go on', async () => {
    const sessions = { n: 1 };
    const clock = { t: 0 };
    const p = protection(sessions, clock);
    await p.tick();
    clock.t += 5 * 60_000;
    await p.tick();
    clock.t += 5 * 60_000;
    await p.tick();
    expect(agent.puts()).toEqual(
      Array(3).fill({ ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES }),
    );
  });

  it('lets protection lapse for one renewal period after the continuous maximum, then protects again', async () => {
    const sessions = { n: 3 };
    const clock = { t: 0 };
    const p = protection(sessions, clock);
    for (let minute = 0; minute <= 45; minute += 5) {
      clock.t = minute * 60_000;
      await p.tick();
    }
    expect(p.isProtected).toBe(false);
    expect(agent.puts().at(-1)).toEqual({ ProtectionEnabled: false });

    clock.t += 60_000;
    await p.tick();
    expect(p.isProtected).toBe(false);

    clock.t += 5 * 60_000;
    await p.tick();
    expect(p.isProtected).toBe(true);
    expect(agent.puts().at(-1)).toEqual({ ProtectionEnabled: true, ExpiresInMinutes: PROTECTION_MINUTES });
  });

  it('logs a refused request with its reason and keeps running', async () => {
    agent.mode = 'failure';
    const p = protection({ n: 1 }, { t: 0 });
    await expect(p.tick()).resolves.toBeUndefined();
    expect(p.isProtected).toBe(false);
    expect(logger.warn).toHaveBeenCalledWith(
      'task scale-in protection request failed',
      expect.objectContaining({
        code: 'TASK_PROTECTION_REFUSED',
        error: expect.stringContaining('TASK_NOT_VALID'),
      }),
    );

    agent.mode = 'error';
    await expect(p.request(true)).rejects.toThrow('AccessDeniedException: not allowed');
  });

  it('releases protection when the gateway stops', async () => {
    const p = protection({ n: 1 }, { t: 0 });
    await p.tick();
    await p.stop();
    expect(agent.puts().at(-1)).toEqual({ ProtectionEnabled: false });
  });

  it('does nothing outside ECS (no ECS_AGENT_URI)', async () => {
    const p = TaskProtection.fromEnv({}, { sessionCount: () => 5, logger });
    expect(p.enabled).toBe(false);
    await p.tick();
    p.start();
    await p.stop();
    expect(agent.calls).toEqual([]);
  });

  it('rejects an answer without a protection state as a typed error', () => {
    expect(() => parseProtectionResponse({})).toThrow(TaskProtectionError);
    expect(() => parseProtectionResponse('nonsense')).toThrow('without a protection state');
  });
});

describe('watching for the task to stop', () => {
  it('reports once when the task metadata says the task is stopping', async () => {
    let stops = 0;
    const stopped = new Promise<void>((resolve) => {
      watchTaskStopping(
        { ECS_CONTAINER_METADATA_URI_V4: agent.uri },
        logger,
        () => {
          stops++;
          resolve();
        },
        20,
      );
    });
    // Wait until the watcher has seen the task running at least once.
    while (!agent.calls.some((c) => c.url === '/task')) await new Promise((r) => setTimeout(r, 10));
    expect(stops).toBe(0);

    agent.desiredStatus = 'STOPPED';
    await stopped;
    const seen = agent.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(stops).toBe(1);
    expect(agent.calls.length).toBe(seen);
  });

  it('does not watch outside ECS', () => {
    const cancel = watchTaskStopping({}, logger, () => {
      throw new Error('must not be called');
    });
    cancel();
  });
});
