/**
 * The memory side of bench/push: the API's RSS per subscriber with real
 * sockets, idle (no events), at each count asked.
 *
 * Sockets are plain `ws` clients speaking graphql-transport-ws (a full client
 * per socket would weigh on this process, not on the API), spread over
 * 127.0.0.2–9 so that no source address runs out of ephemeral ports, each
 * subscribed to users of its own, opened at most `inFlight` at a time; a
 * count is reached when every one of them has received its snapshot. The run
 * is bounded: each step gives up after `stepTimeoutMs`, and a count past what
 * the open-files limit allows both processes is capped, and said so.
 */
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';

export interface MemoryOptions {
  readonly wsUrl: string;
  readonly apiPid: number;
  /** connection_init's payload. */
  readonly connectionParams: Record<string, string>;
  readonly query: string;
  /** Subscriber counts at which RSS is read, ascending. */
  readonly counts: readonly number[];
  /** Subscriptions per socket (1: one socket per subscriber). */
  readonly perSocket: number;
  readonly inFlight?: number;
  readonly stepTimeoutMs?: number;
}

const rssMb = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const openFilesLimit = (pid: number | 'self') => Number(/Max open files\s+(\d+)/.exec(readFileSync(`/proc/${pid}/limits`, 'utf8'))![1]);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Opens one socket with `users`' subscriptions; resolves once each has its snapshot, rejects on close or error first. */
function openSocket(o: MemoryOptions, n: number, users: string[], sockets: WebSocket[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(o.wsUrl, 'graphql-transport-ws', { localAddress: `127.0.0.${2 + (n % 8)}` });
    sockets.push(ws);
    let waiting = users.length;
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: o.connectionParams })));
    ws.on('message', (data: Buffer) => {
      const m = JSON.parse(data.toString()) as { type: string; id?: string };
      if (m.type === 'connection_ack') {
        users.forEach((id, i) => ws.send(JSON.stringify({ id: String(i + 1), type: 'subscribe', payload: { query: o.query, variables: { id } } })));
      } else if (m.type === 'next' && --waiting === 0) resolve();
      else if (m.type === 'ping') ws.send('{"type":"pong"}');
      else if (m.type === 'error') reject(new Error(`subscription refused: ${data.toString().slice(0, 200)}`));
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`socket closed with ${code}`)));
  });
}

export async function measureMemory(o: MemoryOptions): Promise<Record<string, unknown>> {
  const inFlight = o.inFlight ?? 200;
  const stepTimeoutMs = o.stepTimeoutMs ?? 300_000;
  // Both ends hold one descriptor per socket; leave room for everything else.
  const limit = Math.min(openFilesLimit('self'), openFilesLimit(o.apiPid));
  const maxSockets = limit - 500;
  const sockets: WebSocket[] = [];
  const failures: string[] = [];
  const rss: Record<string, number> = { subscribers0: Math.round(rssMb(o.apiPid)) };
  const steps: Record<string, unknown>[] = [];
  let opened = 0;
  try {
    for (const asked of o.counts) {
      const count = Math.min(asked, maxSockets * o.perSocket);
      const deadline = Date.now() + stepTimeoutMs;
      const pending = new Set<Promise<void>>();
      while (opened < count && Date.now() < deadline && failures.length < 100) {
        const users = Array.from({ length: Math.min(o.perSocket, count - opened) }, (_, i) => `m${opened + i}`);
        const n = sockets.length;
        const p: Promise<void> = openSocket(o, n, users, sockets)
          .catch((error: unknown) => void failures.push(String(error)))
          .finally(() => pending.delete(p));
        pending.add(p);
        opened += users.length;
        if (pending.size >= inFlight) await Promise.race(pending);
      }
      await Promise.race([Promise.all(pending), sleep(Math.max(0, deadline - Date.now()))]);
      await sleep(3000); // let the API settle before reading its RSS
      const ready = opened - failures.length * o.perSocket;
      const mb = rssMb(o.apiPid);
      rss[`subscribers${ready}`] = Math.round(mb);
      steps.push({
        asked, subscribers: ready, sockets: sockets.length, rssMb: Math.round(mb),
        perSubscriberKb: Number((((mb - rss.subscribers0!) * 1024) / ready).toFixed(1)),
        ...(count < asked ? { cappedBy: `open files limit ${limit} per process` } : {}),
      });
      process.stderr.write(`${JSON.stringify(steps.at(-1))}\n`);
      if (failures.length > 0 || count < asked) break;
    }
  } finally {
    for (const ws of sockets) ws.terminate();
  }
  return { perSocket: o.perSocket, openFilesLimit: limit, apiRssMb: rss, steps, ...(failures.length > 0 ? { failures: failures.slice(0, 5) } : {}) };
}
