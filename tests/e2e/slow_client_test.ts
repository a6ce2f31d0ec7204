/**
 * Back-pressure end to end: a 20 MiB response through a client that stops reading. The
 * backend's writes must block (it waits for 'drain' and gets none) before it has handed the
 * whole body to the kernel, and after the client resumes every byte arrives intact.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type StreamBackend, streamBackend } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { Watch } from "../_helpers/raw_http.ts";

const MiB = 1024 * 1024;
const SIZE = 20 * MiB;
/**
 * The client stops reading after this many body bytes; 0 = it reads nothing until the backend
 * stalls. Why 0: loopback buffers are large here (tcp_wmem max 4 MiB per send buffer, receive
 * buffers autotuned to several MiB), and every byte the client reads early lets its receive
 * buffer grow. Measured: pausing after 1 MiB, the backend stalled with 10–19.4 MiB flushed (once
 * only 0.6 MiB short of the whole body); pausing at once, 7.5–15 MiB. The smaller figure keeps
 * "not everything was written" a real margin below 20 MiB.
 */
const PAUSE_AFTER = 0;
/** No 'drain' for this long while the backend waits for one = its writes are stalled. */
const STALL_WINDOW_MS = 1000;

describe(`slow client (${ferryLabel()})`, () => {
  let backend: StreamBackend;
  let ferry: Ferry;

  before(async () => {
    backend = await streamBackend(SIZE, 20260);
    ferry = await startFerry(`
listeners:
  - name: web
    listen: "127.0.0.1:0"
    backend: big
backends:
  big:
    servers: [ "${backend.address}" ]
`);
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
  });

  it("stalls the backend while the client pauses, then delivers 20 MiB byte-identical", { timeout: 60_000 }, async () => {
    const watch = new Watch();
    const socket = net.connect({ port: ferry.ports.web, host: "127.0.0.1" });
    const hash = createHash("sha256");
    let head = Buffer.alloc(0);
    let headDone = false;
    let status = 0;
    let contentLength = -1;
    let bodyBytes = 0;
    let ended = false;
    let error: Error | null = null;
    let paused = false;
    socket.on("data", (chunk: Buffer) => {
      if (!headDone) {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf("\r\n\r\n");
        if (end === -1) return;
        const text = head.subarray(0, end).toString("latin1");
        status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
        contentLength = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? -1);
        headDone = true;
        chunk = head.subarray(end + 4);
      }
      hash.update(chunk);
      bodyBytes += chunk.length;
      if (!paused && bodyBytes >= PAUSE_AFTER && bodyBytes < SIZE) {
        paused = true;
        socket.pause();
      }
      watch.notify();
    });
    socket.on("end", () => {
      ended = true;
      watch.notify();
    });
    socket.on("error", (e) => {
      error = e;
      watch.notify();
    });
    try {
      await new Promise<void>((r, j) => {
        socket.once("connect", r);
        socket.once("error", j);
      });
      if (PAUSE_AFTER <= 0) {
        paused = true;
        socket.pause();
      }
      socket.write(`GET /big HTTP/1.1\r\nHost: 127.0.0.1:${ferry.ports.web}\r\n\r\n`);

      await watch.until(() => paused || ended || error !== null, 15_000, `the first ${PAUSE_AFTER} body bytes (got ${bodyBytes})`);
      assert.equal(error, null);
      assert.ok(paused, "the client never paused");

      // With the client paused, the backend must end up blocked: waiting for 'drain' with none for
      // STALL_WINDOW_MS, and not everything flushed (a proxy that buffers without limit reads the
      // whole 20 MiB at once, and the backend never waits).
      const st = await backend.waitForStall(0, STALL_WINDOW_MS, 20_000);
      const receivedWhilePaused = bodyBytes;
      assert.equal(st.done, false, `the backend wrote all ${SIZE} bytes while the client was paused: no back-pressure (${JSON.stringify(st)})`);
      assert.ok(st.stalled && st.waitingDrain, `backend not stalled: ${JSON.stringify(st)}`);
      assert.ok(st.flushed < SIZE, `backend flushed everything: ${JSON.stringify(st)}`);
      console.log(
        `  slow client: client paused at ${(receivedWhilePaused / MiB).toFixed(2)} MiB; backend stalled with ` +
          `${(st.flushed / MiB).toFixed(2)} MiB flushed of ${SIZE / MiB} MiB (${st.drainWaits} drain waits)`,
      );

      socket.resume();
      await watch.until(() => bodyBytes >= SIZE || ended || error !== null, 45_000, () => `the rest of the body (got ${bodyBytes} of ${SIZE})`);
      assert.equal(error, null);
      assert.equal(status, 200);
      assert.equal(contentLength, SIZE);
      assert.equal(bodyBytes, SIZE, "body length differs");
      assert.equal(hash.digest("hex"), backend.sha256, "body bytes differ (sha256)");
      await backend.until(() => backend.streams[0].done, "the backend to finish writing");
    } finally {
      socket.destroy();
    }
  });
});
