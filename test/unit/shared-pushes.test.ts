import { buildSchema, parse, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { UpdateHub } from '../../src/graphql/subscriptions/hub.js';
import { PUSH_KEY, createSharedPushes } from '../../src/graphql/subscriptions/shared-pushes.js';

const schema = buildSchema(`
  type Query { ok: Boolean }
  type Subscription { changed(userId: ID!): U! }
  type U { id: ID! version: Int! label(prefix: String): String! }
`);

/** A subscription field over the hub, as the service's: each taken version is an event naming what it shows. */
function setup(opts: { share: boolean }) {
  const hub = new UpdateHub();
  let executions = 0;
  const closed: string[] = [];
  const root = {
    changed: async function* ({ userId }: { userId: string }) {
      const box = hub.subscribe(userId);
      try {
        for await (const { version } of box) {
          const user = { id: userId, version, label: ({ prefix }: { prefix?: string }) => (executions++, `${prefix ?? ''}${userId}@${version}`) };
          yield { changed: user, ...(opts.share ? { [PUSH_KEY]: `${userId}\n${version}` } : {}) };
        }
      } finally {
        closed.push(userId);
      }
    },
  };
  let contexts = 0;
  const subscribe = createSharedPushes<ExecutionResult & { prepared: number }>({
    context: () => ({ push: ++contexts }),
    prepare: (result) => ({ ...result, prepared: contexts }),
  });
  const open = async (query: string, variables: Record<string, unknown>) => {
    const args: ExecutionArgs = { schema, document: parse(query), variableValues: variables, rootValue: root, contextValue: {} };
    const stream = await subscribe(args);
    if (!(Symbol.asyncIterator in stream)) throw new Error(JSON.stringify(stream));
    return stream;
  };
  return { hub, open, closed, executions: () => executions };
}

const Q = 'subscription ($u: ID!, $p: String) { changed(userId: $u) { id version label(prefix: $p) } }';

describe('shared pushes', () => {
  it('executes a selection once for every subscriber woken by one update, and gives each the same result', async () => {
    const s = setup({ share: true });
    const a = await s.open(Q, { u: 'alice' });
    const b = await s.open(Q, { u: 'alice' });
    const nextA = a.next();
    const nextB = b.next();
    s.hub.publish('alice', { version: 3, eventTime: 0 });
    const [ra, rb] = await Promise.all([nextA, nextB]);
    expect(ra.value).toMatchObject({ data: { changed: { id: 'alice', version: 3, label: 'alice@3' } } });
    expect(rb.value).toBe(ra.value);
    expect(s.executions()).toBe(1);
  });

  it('executes apart what differs: another selection, other variables, or events that name nothing', async () => {
    const s = setup({ share: true });
    const subs = [await s.open(Q, { u: 'alice' }), await s.open(Q, { u: 'alice', p: '>' }), await s.open(`${Q} `, { u: 'alice' })];
    const taken = subs.map((x) => x.next());
    s.hub.publish('alice', { version: 1, eventTime: 0 });
    const results = await Promise.all(taken);
    expect(results.map((r) => (r.value as ExecutionResult).data)).toEqual([
      { changed: { id: 'alice', version: 1, label: 'alice@1' } },
      { changed: { id: 'alice', version: 1, label: '>alice@1' } },
      { changed: { id: 'alice', version: 1, label: 'alice@1' } },
    ]);
    expect(s.executions()).toBe(3);

    const unnamed = setup({ share: false });
    const pair = [await unnamed.open(Q, { u: 'bob' }), await unnamed.open(Q, { u: 'bob' })];
    const next = pair.map((x) => x.next());
    unnamed.hub.publish('bob', { version: 1, eventTime: 0 });
    await Promise.all(next);
    expect(unnamed.executions()).toBe(2);
  });

  it('does not reuse a result in a later turn: a subscriber that takes the version late executes it again', async () => {
    const s = setup({ share: true });
    const a = await s.open(Q, { u: 'alice' });
    const nextA = a.next();
    s.hub.publish('alice', { version: 1, eventTime: 0 });
    await nextA;
    await new Promise((r) => setImmediate(r));
    const b = await s.open(Q, { u: 'alice' });
    const nextB = b.next();
    s.hub.publish('alice', { version: 1, eventTime: 0 });
    await nextB;
    expect(s.executions()).toBe(2);
  });

  it('hands return to the source at once, even while it waits for an event', async () => {
    const hub = new UpdateHub();
    const box = hub.subscribe('alice');
    const root = { changed: () => ({ next: () => box.next(), return: () => box.return(), [Symbol.asyncIterator]() { return this; } }) };
    const subscribe = createSharedPushes({ context: () => ({}), prepare: (r) => r });
    const stream = await subscribe({ schema, document: parse(Q), variableValues: { u: 'alice' }, rootValue: root });
    if (!(Symbol.asyncIterator in stream)) throw new Error('no stream');
    const waiting = stream.next();
    await stream.return!();
    expect(await waiting).toEqual({ value: undefined, done: true });
    expect(hub.size).toBe(0);
  });
});
