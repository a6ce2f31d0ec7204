/**
 * Load and failure at the connection level: 200 concurrent keep-alive clients, and a client that
 * disconnects mid-response (ferry must close the upstream and go on serving).
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { echoBackend, type HttpBackend, type StreamBackend, streamBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw, header, request } from "../_helpers/raw_http.ts";

const CLIENTS = 200;
const REQUESTS_PER_CLIENT = 5;

describe(`concurrency and disconnects (${ferryLabel()})`, () => {
  let echo: HttpBackend;
  let big: StreamBackend;
  let ferry: Ferry;

  before(async () => {
    echo = await echoBackend("echo");
    big = await streamBackend(16 * 1024 * 1024, 99);
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    routes:
      - path: /
        backend: echo
      - path: /big
        backend: big
backends:
  echo:
    servers: [ "${echo.address}" ]
  big:
    servers: [ "${big.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await echo?.close();
    await big?.close();
  });

  it(`${CLIENTS} concurrent clients × ${REQUESTS_PER_CLIENT} keep-alive requests are all answered correctly`, { timeout: 45_000 }, async () => {
    const port = ferry.ports.web;
    let answered = 0;
    const errors: string[] = [];
    await Promise.all(
      Array.from({ length: CLIENTS }, async (_, i) => {
        const c = await connectRaw(port, "127.0.0.1", 30_000);
        try {
          for (let j = 0; j < REQUESTS_PER_CLIENT; j++) {
            const body = `client ${i} request ${j}`;
            await c.send(
              `POST /c${i}/r${j} HTTP/1.1\r\nHost: load.test\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
            );
            const res = await c.response("POST");
            const want = `POST /c${i}/r${j}\n${body}`;
            if (res.status !== 200 || res.body.toString() !== want) {
              errors.push(`client ${i} request ${j}: ${res.status} ${JSON.stringify(res.body.toString())}, want ${JSON.stringify(want)}`);
            } else answered++;
            if (/close/i.test(header(res.headers, "connection") ?? "")) {
              errors.push(`client ${i} request ${j}: ferry closed a keep-alive connection`);
              break;
            }
          }
        } finally {
          c.close();
        }
      }),
    );
    assert.deepEqual(errors.slice(0, 10), []);
    assert.equal(answered, CLIENTS * REQUESTS_PER_CLIENT);
  });

  it("serves the next request after a client disconnects mid-response, and closes that upstream", { timeout: 30_000 }, async () => {
    const port = ferry.ports.web;
    const c = await connectRaw(port);
    await c.send("GET /big HTTP/1.1\r\nHost: a\r\n\r\n");
    // Read the head and some of the 16 MiB body, then vanish.
    await c.reader.readUntil("\r\n\r\n");
    await c.reader.readExact(256 * 1024);
    await big.until(() => big.connections.length === 1, "the upstream connection");
    c.close();
    await big.until(
      () => big.connections[0].closed,
      () => `ferry to close the upstream of the vanished client (stream: ${JSON.stringify(big.streams[0])})`,
    );

    // ferry is alive and serves the next client, on a new and on an existing route.
    const res = await request(port, { path: "/after-disconnect" });
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), "GET /after-disconnect\n");
    const again = await connectRaw(port);
    try {
      await again.send("GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
      const full = await again.response();
      assert.equal(full.status, 200);
      assert.equal(full.body.length, big.size);
    } finally {
      again.close();
    }
  });
});
