/**
 * Client side of the DNS and reload end-to-end tests: who answered a request, a bounded poll
 * for conditions that only show through traffic (a DNS change picked up), and a `/slow` request
 * kept in flight, half received, while the test changes ferry's world under it.
 */
import assert from "node:assert/strict";
import { type HeldResponse, type HostServer, slowBody, untilHosts } from "./reload_backends.ts";
import { connectRaw, header, type RawClient, request, type Response } from "./raw_http.ts";

/** Client-side pacing between polling requests: keeps a poll from flooding a 2-vCPU machine. */
const pace = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Sends GET `path` on a fresh connection; the `X-Backend` that answered (asserts a 200). */
export async function askBackend(port: number, path = "/"): Promise<string> {
  const res = await request(port, { path });
  assert.equal(res.status, 200, `GET ${path}: ${res.raw.toString("latin1")}`);
  const name = header(res.headers, "x-backend");
  assert.ok(name, `GET ${path} was not answered by a test server: ${res.raw.toString("latin1")}`);
  return name;
}

/**
 * Runs `step` until it returns true, `paceMs` apart, for at most `timeoutMs`; returns the time
 * it took (ms). For conditions ferry gives no event for, such as a re-resolution taking effect.
 */
export async function pollUntil(what: string | (() => string), timeoutMs: number, step: () => Promise<boolean>, paceMs = 50): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await step()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === "string" ? what : what()}`);
    }
    await pace(paceMs);
  }
}

export interface SlowRequest {
  client: RawClient;
  /** The test server holding the response. */
  server: HostServer;
  held: HeldResponse;
  target: string;
  /** Releases the held half, reads the response, and checks it arrived whole and unchanged. */
  finish(): Promise<Response>;
  /** Releases the held half (so nothing upstream waits on it) and closes the client connection. */
  close(): void;
}

/**
 * Sends `GET target` (which must start with `/slow`) over a keep-alive connection through ferry
 * and returns once one of `servers` holds it AND the client has received the first bytes of the
 * response: the response is then truly in progress on both legs.
 */
export async function startSlowRequest(port: number, target: string, servers: HostServer[]): Promise<SlowRequest> {
  const client = await connectRaw(port, "127.0.0.1", 30_000);
  await client.send(`GET ${target} HTTP/1.1\r\nHost: ferry.test\r\n\r\n`);
  let server: HostServer | undefined;
  let held: HeldResponse | undefined;
  const find = () => {
    for (const s of servers) {
      const h = s.held.find((x) => x.target === target);
      if (h) [server, held] = [s, h];
    }
    return held !== undefined;
  };
  await untilHosts(find, `a server to hold ${target}`, 15_000);
  await client.reader.watch.until(() => client.reader.received > 0, 15_000, `the first bytes of ${target} at the client`);
  const s = server!;
  const h = held!;
  return {
    client,
    server: s,
    held: h,
    target,
    finish: async () => {
      h.release();
      const res = await client.response();
      assert.equal(res.status, 200, res.raw.toString("latin1"));
      assert.equal(res.body.toString(), slowBody(s.name, target).join(""), `${target}: body cut or changed`);
      return res;
    },
    close: () => {
      h.release();
      client.close();
    },
  };
}

/**
 * A slow request that lands on `wanted`: round robin sends consecutive requests to different
 * servers, so a request that lands elsewhere is finished and the next one tried.
 */
export async function startSlowRequestOn(port: number, prefix: string, servers: HostServer[], wanted: HostServer): Promise<SlowRequest> {
  const missed: string[] = [];
  for (let i = 0; i < 2 * servers.length + 2; i++) {
    const slow = await startSlowRequest(port, `${prefix}-${i}`, servers);
    if (slow.server === wanted) return slow;
    missed.push(slow.server.name);
    await slow.finish();
    slow.close();
  }
  throw new Error(`no slow request reached ${wanted.name} (went to ${missed.join(", ")})`);
}
