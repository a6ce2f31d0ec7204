/**
 * The `Conn` contract, run against whichever runtime executes this file: `deno test` checks the
 * Deno adapter, `bun test` the Bun adapter. Everything ferry's core assumes about a connection
 * (partial writes add up, half-close, back-pressure, errors as `ConnError` codes) is pinned here,
 * over real loopback sockets.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Conn, ConnError, runtime } from "../../lib/runtime/mod.ts";
import { writeAll } from "../../lib/net/socket_writer.ts";
import {
  closedPort,
  connPair,
  readAll,
  readExactly,
  rejection,
  settlesWithin,
  sha256,
  str,
  text,
} from "../_helpers/loopback.ts";

/** A hung test fails instead of blocking the run (Bun has a 5 s default; Deno none). */
const T = { timeout: 15_000 };

const RUNTIME = (process.versions as Record<string, string | undefined>).bun ? "bun" : "deno";

/** Asserts `e` is a ConnError with one of `codes`. */
function assertConnError(e: unknown, ...codes: string[]): void {
  assert.ok(e instanceof ConnError, `expected a ConnError, got ${e}`);
  assert.ok(codes.includes(e.code), `expected code ${codes.join(" or ")}, got "${e.code}"`);
}

describe(`Conn contract (${RUNTIME})`, () => {
  it("runtime.name is the runtime that runs the tests", () => {
    assert.equal(runtime.name, RUNTIME);
  });

  it("listen() on port 0 binds a real port and reports both ends' addresses", T, async () => {
    const p = await connPair();
    try {
      assert.ok(p.listener.addr.port > 0);
      assert.equal(p.client.remoteAddr.port, p.listener.addr.port);
      assert.equal(p.server.localAddr.port, p.listener.addr.port);
      assert.equal(p.server.remoteAddr.port, p.client.localAddr.port);
      assert.equal(p.server.remoteAddr.hostname, "127.0.0.1");
    } finally {
      p.close();
    }
  });

  it("echoes bytes both ways", T, async () => {
    const p = await connPair();
    try {
      await writeAll(p.client, text("ping"));
      assert.equal(str(await readExactly(p.server, 4)), "ping");
      await writeAll(p.server, text("pong!"));
      assert.equal(str(await readExactly(p.client, 5)), "pong!");
    } finally {
      p.close();
    }
  });

  it("write() may be partial but the counts add up: 8 MiB arrive intact", T, async () => {
    const p = await connPair();
    try {
      const data = new Uint8Array(randomBytes(8 * 1024 * 1024));
      const sending = (async () => {
        // The raw write() loop, not writeAll: the returned counts are what is being tested.
        let off = 0;
        let calls = 0;
        while (off < data.length) {
          const n = await p.client.write(data.subarray(off));
          assert.ok(n > 0 && n <= data.length - off, `write() returned ${n}`);
          off += n;
          calls++;
        }
        await p.client.closeWrite();
        return calls;
      })();
      const [received, calls] = await Promise.all([readAll(p.server), sending]);
      assert.equal(received.length, data.length);
      assert.equal(sha256(received), sha256(data));
      assert.ok(calls >= 1);
    } finally {
      p.close();
    }
  });

  it("closeWrite() by the client: server reads EOF and can still reply", T, async () => {
    const p = await connPair();
    try {
      await writeAll(p.client, text("request"));
      await p.client.closeWrite();
      assert.equal(str(await readAll(p.server)), "request");
      await writeAll(p.server, text("reply after FIN"));
      await p.server.closeWrite();
      assert.equal(str(await readAll(p.client)), "reply after FIN");
    } finally {
      p.close();
    }
  });

  it("closeWrite() by the server: client reads EOF and can still send", T, async () => {
    const p = await connPair();
    try {
      await writeAll(p.server, text("banner"));
      await p.server.closeWrite();
      assert.equal(str(await readAll(p.client)), "banner");
      await writeAll(p.client, text("late data"));
      await p.client.closeWrite();
      assert.equal(str(await readAll(p.server)), "late data");
    } finally {
      p.close();
    }
  });

  it("read() after the peer's close() returns null or throws ConnError \"connection reset\"", T, async () => {
    for (const closer of ["server", "client"] as const) {
      const p = await connPair();
      try {
        const [gone, other] = closer === "server" ? [p.server, p.client] : [p.client, p.server];
        gone.close();
        try {
          assert.equal(await other.read(), null);
        } catch (e) {
          assertConnError(e, "connection reset");
        }
      } finally {
        p.close();
      }
    }
  });

  it("write() to a peer that closed eventually rejects with a ConnError", T, async () => {
    const p = await connPair();
    try {
      p.server.close();
      try {
        await p.client.read(); // the FIN or RST has arrived
      } catch { /* reset is fine too */ }
      let error: unknown;
      // The first write after a FIN is accepted by the kernel; the peer answers it with RST and
      // a later write fails. Yield to the event loop between writes so the RST can be noticed.
      for (let i = 0; i < 200 && !error; i++) {
        try {
          await p.client.write(text("x".repeat(1024)));
        } catch (e) {
          error = e;
        }
        await new Promise((r) => setTimeout(r, 1));
      }
      assertConnError(error, "connection reset", "closed");
    } finally {
      p.close();
    }
  });

  it("bytes written before close() still reach a peer that reads them later", T, async () => {
    const p = await connPair();
    try {
      // 1 MiB fits in loopback socket buffers (the back-pressure test below shows it), so the
      // writes complete while the client has not read a byte yet.
      const data = new Uint8Array(randomBytes(1024 * 1024));
      await writeAll(p.server, data);
      p.server.close();
      const received = await readAll(p.client);
      assert.equal(received.length, data.length);
      assert.equal(sha256(received), sha256(data));
    } finally {
      p.close();
    }
  });

  it("close() settles a pending read() on the same conn", T, async () => {
    const p = await connPair();
    try {
      const pending = p.client.read();
      p.client.close();
      // null or a ConnError: either way the reader is released (idle timeouts rely on this).
      try {
        assert.equal(await pending, null);
      } catch (e) {
        assertConnError(e, "closed", "connection reset");
      }
      assert.equal(await p.client.read().catch(() => null), null);
    } finally {
      p.close();
    }
  });

  it("close() is idempotent and rejects a write() blocked by back-pressure", T, async () => {
    const p = await connPair();
    try {
      const big = new Uint8Array(1024 * 1024);
      let blocked: Promise<void> | null = null;
      for (let i = 0; i < 64 && !blocked; i++) {
        const w = writeAll(p.client, big);
        if (!(await settlesWithin(w, 300))) blocked = w;
      }
      assert.ok(blocked, "the server never read, yet 64 MiB were written without blocking");
      p.client.close();
      p.client.close();
      assertConnError(await rejection(blocked), "closed", "connection reset");
      assertConnError(await rejection(p.client.write(text("x"))), "closed", "connection reset");
    } finally {
      p.close();
    }
  });

  it("write() stays pending while the peer does not read (back-pressure)", T, async () => {
    const p = await connPair();
    try {
      const MiB = 1024 * 1024;
      const chunk = new Uint8Array(MiB).fill(0x61);
      let written = 0;
      let stalled: Promise<void> | null = null;
      // Loopback kernel buffers hold a few MiB; past that, writeAll must wait for the reader.
      while (written < 64 * MiB) {
        const w = writeAll(p.client, chunk);
        if (!(await settlesWithin(w, 300))) {
          stalled = w;
          break;
        }
        written += MiB;
      }
      assert.ok(stalled, `64 MiB were written to a peer that never reads`);
      assert.ok(written >= MiB, "the very first MiB did not fit in the socket buffers");
      assert.equal(await settlesWithin(stalled, 200), false, "the stalled write completed without a reader");

      let reading = false;
      const completedWhileReading = stalled.then(() => reading);
      reading = true;
      const received = await readExactly(p.server, written + MiB);
      assert.equal(await completedWhileReading, true);
      assert.ok(received.every((b) => b === 0x61));
      await p.client.closeWrite();
      assert.equal(await p.server.read(), null);
    } finally {
      p.close();
    }
  });

  it("connect() to a closed port rejects with ConnError \"connection refused\"", T, async () => {
    const e = await rejection(runtime.connect({ hostname: "127.0.0.1", port: await closedPort(), timeoutMs: 5_000 }));
    assertConnError(e, "connection refused");
    assert.equal((e as Error).message, "connection refused");
  });

  it("listen() on a port in use throws ConnError \"address in use\"", () => {
    const l = runtime.listen({ hostname: "127.0.0.1", port: 0 }, (c) => c.close());
    try {
      assert.throws(
        () => runtime.listen({ hostname: "127.0.0.1", port: l.addr.port }, (c) => c.close()).close(),
        (e: unknown) => (assertConnError(e, "address in use"), true),
      );
    } finally {
      l.close();
    }
  });

  it("listener.close() stops accepting: no connection is handed over, the port is released", T, async () => {
    let accepted = 0;
    const l = runtime.listen({ hostname: "127.0.0.1", port: 0 }, (c) => {
      accepted++;
      c.close();
    });
    const port = l.addr.port;
    l.close();
    l.close();
    // Deno releases the socket once its pending accept is cancelled, one event-loop turn later: a
    // connect in that turn completes the handshake in the kernel and is then reset. By the time
    // that first attempt has settled, the port must be free.
    assertConnError(await rejection(runtime.connect({ hostname: "127.0.0.1", port })), "connection refused", "connection reset");
    assertConnError(await rejection(runtime.connect({ hostname: "127.0.0.1", port })), "connection refused");
    assert.equal(accepted, 0);
  });

  it("connect() gives up after timeoutMs with ConnError \"timeout\"", T, async () => {
    // A listener whose accept queue is full drops SYNs, so a connect hangs like one to a dead
    // host. The listener lives in a child process that blocks its own event loop.
    const script = fileURLToPath(new URL("../_helpers/stalled_listener.ts", import.meta.url));
    const args = RUNTIME === "bun" ? [script] : ["run", "--allow-net", script];
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
    const fillers: Conn[] = [];
    try {
      const port = await new Promise<number>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d) => {
          out += d;
          if (out.includes("\n")) resolve(Number(out.trim()));
        });
        child.once("exit", (code) => reject(new Error(`stalled listener exited with ${code}`)));
      });
      assert.ok(port > 0);
      // Fill the queue: connects succeed (the kernel completes the handshake) until it is full;
      // how many depends on the backlog the runtime's node:net passes on (Deno 1, Bun ~511).
      const TIMEOUT = 300;
      for (let i = 0; i < 5_000; i++) {
        const started = Date.now();
        try {
          fillers.push(await runtime.connect({ hostname: "127.0.0.1", port, timeoutMs: TIMEOUT }));
        } catch (e) {
          const took = Date.now() - started;
          assertConnError(e, "timeout");
          assert.ok(took >= TIMEOUT - 20 && took < TIMEOUT + 2_000, `timed out after ${took} ms`);
          return;
        }
      }
      console.log(`skipped: the accept queue never filled after ${fillers.length} connections`);
    } finally {
      for (const c of fillers) c.close();
      child.kill();
      child.stdout?.destroy();
    }
  });
});
