/**
 * Steady load for failover tests: `clients` keep-alive connections, each sending GETs one after
 * another until it has sent its share, reconnecting whenever ferry closes the connection. Every
 * request's outcome is recorded with the time it was sent, so a test can judge the requests
 * sent after an event (a crash, a log line) apart from those in flight when it happened.
 */
import { Buffer } from "node:buffer";
import { connectRaw, header, type RawClient, Watch } from "./raw_http.ts";

export interface Outcome {
  client: number;
  seq: number;
  /** `performance.now()` just before the request was written. */
  sentAt: number;
  doneAt: number;
  /** Absent when the request failed without a response. */
  status?: number;
  body?: string;
  /** Why there was no response (connect failure, reset, timeout). */
  error?: string;
}

export interface LoadOptions {
  clients: number;
  /** Requests per client. */
  requests: number;
  /** The request target for a client's n-th request. */
  path: (client: number, seq: number) => string;
  /** Longest wait for any one response before it counts as an error, ms. */
  timeoutMs?: number;
}

export interface Load {
  /** Outcomes in completion order; grows while the load runs. */
  readonly outcomes: Outcome[];
  /** Notified after every outcome. */
  readonly watch: Watch;
  /** Resolves when every client has sent all its requests. */
  readonly done: Promise<Outcome[]>;
  /** Resolves once `n` outcomes are in. */
  waitFor(n: number, timeoutMs?: number): Promise<void>;
}

/** A failed outcome: no response, or a status other than 200. */
export function isError(o: Outcome): boolean {
  return o.error !== undefined || o.status !== 200;
}

export function describeOutcome(o: Outcome): string {
  return `client ${o.client} #${o.seq} ${o.error ? `error: ${o.error}` : `${o.status} ${JSON.stringify(o.body?.slice(0, 120))}`}`;
}

export function startLoad(port: number, opts: LoadOptions): Load {
  const outcomes: Outcome[] = [];
  const watch = new Watch();
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const record = (o: Outcome) => {
    outcomes.push(o);
    watch.notify();
  };

  async function client(id: number): Promise<void> {
    let c: RawClient | null = null;
    try {
      for (let seq = 0; seq < opts.requests; seq++) {
        const sentAt = performance.now();
        try {
          c ??= await connectRaw(port, "127.0.0.1", timeoutMs);
          await c.send(`GET ${opts.path(id, seq)} HTTP/1.1\r\nHost: failover.test\r\n\r\n`);
          const res = await c.response();
          record({ client: id, seq, sentAt, doneAt: performance.now(), status: res.status, body: Buffer.from(res.body).toString() });
          if (/\bclose\b/i.test(header(res.headers, "connection") ?? "")) {
            c.close();
            c = null;
          }
        } catch (e) {
          record({ client: id, seq, sentAt, doneAt: performance.now(), error: e instanceof Error ? e.message : String(e) });
          c?.close();
          c = null;
        }
      }
    } finally {
      c?.close();
    }
  }

  const done = Promise.all(Array.from({ length: opts.clients }, (_, i) => client(i))).then(() => outcomes);
  return {
    outcomes,
    watch,
    done,
    waitFor: (n, ms = 10_000) => watch.until(() => outcomes.length >= n, ms, () => `${n} responses (got ${outcomes.length})`),
  };
}
