import { describe, expect, it } from 'vitest';
import { TRENDING, UpdateHub } from '../../src/graphql/subscriptions/hub.js';

describe('update hub', () => {
  it('delivers to the user’s mailboxes only, and wakes a waiting reader at once', async () => {
    const hub = new UpdateHub();
    const a = hub.subscribe('a');
    const b = hub.subscribe('b');
    const waiting = a.next();
    hub.publish('a', { version: 1, eventTime: 10 });
    expect(await waiting).toEqual({ value: { version: 1, eventTime: 10 }, done: false });
    hub.publish('b', { version: 7, eventTime: 11 });
    expect(await b.next()).toEqual({ value: { version: 7, eventTime: 11 }, done: false });
  });

  it('keeps only the newest pending version for a busy reader, counting what it dropped', async () => {
    const hub = new UpdateHub();
    let superseded = 0;
    hub.on('superseded', () => superseded++);
    const box = hub.subscribe('u');
    for (let v = 1; v <= 5; v++) hub.publish('u', { version: v, eventTime: v });
    hub.publish('u', { version: 3, eventTime: 3 }); // an older redelivery changes nothing
    expect(await box.next()).toEqual({ value: { version: 5, eventTime: 5 }, done: false });
    expect(superseded).toBe(4);
  });

  it('ends a reader on return, forgets the mailbox, and ignores later updates', async () => {
    const hub = new UpdateHub();
    const box = hub.subscribe('u');
    const waiting = box.next();
    expect(hub.size).toBe(1);
    await box.return();
    expect(await waiting).toEqual({ value: undefined, done: true });
    hub.publish('u', { version: 2, eventTime: 2 });
    expect(await box.next()).toEqual({ value: undefined, done: true });
    expect(hub.size).toBe(0);
  });

  it('nudges the mailboxes watching a changed item once, follows a new watch list, and goes on after another closes', async () => {
    const hub = new UpdateHub();
    const a = hub.subscribe('a');
    const b = hub.subscribe('b');
    hub.watch(a, ['i1', 'i2']);
    hub.watch(b, ['i2', TRENDING]);
    hub.publishItems(['i1', 'i2', 'i3'], 42);
    expect(await a.next()).toEqual({ value: { version: 0, eventTime: 42 }, done: false });
    expect(await b.next()).toEqual({ value: { version: 0, eventTime: 42 }, done: false });

    // A nudge never displaces a pending user update, which will re-rank anyway.
    hub.publish('a', { version: 3, eventTime: 50 });
    hub.publishItems(['i1'], 51);
    expect(await a.next()).toEqual({ value: { version: 3, eventTime: 50 }, done: false });

    hub.watch(a, ['i9']);
    const waiting = a.next();
    hub.publishItems(['i1', TRENDING], 60);
    hub.publishItems(['i9'], 61);
    expect(await waiting).toEqual({ value: { version: 0, eventTime: 61 }, done: false });
    expect(await b.next()).toEqual({ value: { version: 0, eventTime: 60 }, done: false });

    await b.return();
    const next = a.next();
    hub.publishItems(['i2', TRENDING, 'i9'], 70);
    expect(await next).toEqual({ value: { version: 0, eventTime: 70 }, done: false });
  });
});
