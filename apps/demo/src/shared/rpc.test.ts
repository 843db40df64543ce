import { afterEach, describe, expect, it } from 'vitest';
import { type Endpoint, RemoteError, RpcClient, serve, transfer } from './rpc.js';

interface TestApi {
  add(params: { a: number; b: number }): number;
  slow(params: { ms: number }): Promise<string>;
  fail(params: Record<string, never>): void;
  bytes(params: { n: number }): Uint8Array;
}

/** What the client believes: one method more than the server has. */
interface ClientApi extends TestApi {
  nope(params: Record<string, never>): void;
}

const channels: MessageChannel[] = [];

function pair() {
  const channel = new MessageChannel();
  channels.push(channel);
  const events = serve<TestApi>(channel.port2 as unknown as Endpoint, {
    add: ({ a, b }) => a + b,
    slow: async ({ ms }) => {
      await new Promise((r) => setTimeout(r, ms));
      return `slept ${ms}`;
    },
    fail: () => {
      throw new RangeError('bad things');
    },
    bytes: ({ n }) => {
      const data = new Uint8Array(n).fill(7);
      return transfer(data, [data.buffer]);
    },
  });
  const client = new RpcClient<ClientApi, { type: string }>(channel.port1 as unknown as Endpoint);
  return { client, events };
}

afterEach(() => {
  for (const c of channels.splice(0)) {
    c.port1.close();
    c.port2.close();
  }
});

describe('rpc over a MessagePort', () => {
  it('answers calls, in any order of completion', async () => {
    const { client } = pair();
    const slow = client.call('slow', { ms: 30 });
    const fast = client.call('add', { a: 2, b: 3 });
    expect(await fast).toBe(5);
    expect(await slow).toBe('slept 30');
  });

  it('rethrows the other side errors with their name and message', async () => {
    const { client } = pair();
    const error = await client.call('fail', {}).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ name: 'RangeError', message: 'bad things' });
  });

  it('refuses unknown methods', async () => {
    const { client } = pair();
    await expect(client.call('nope', {})).rejects.toThrow("unknown method 'nope'");
  });

  it('delivers events to listeners until they unsubscribe', async () => {
    const { client, events } = pair();
    const seen: string[] = [];
    const stop = client.onEvent((e) => seen.push(e.type));
    events.emit({ type: 'one' });
    events.emit({ type: 'two' });
    await client.call('add', { a: 0, b: 0 }); // a round trip: the events came first
    stop();
    events.emit({ type: 'three' });
    await client.call('add', { a: 0, b: 0 });
    expect(seen).toEqual(['one', 'two']);
  });

  it('moves marked buffers instead of copying them', async () => {
    const { client } = pair();
    const bytes = await client.call('bytes', { n: 16 });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual(new Array(16).fill(7));
  });

  it('rejects pending and later calls once closed', async () => {
    const { client } = pair();
    const pending = client.call('slow', { ms: 50 });
    client.close(new Error('worker gone'));
    await expect(pending).rejects.toThrow('worker gone');
    await expect(client.call('add', { a: 1, b: 1 })).rejects.toThrow('worker gone');
  });
});
