/**
 * TCP mode end to end: a byte stream both ways, half-close in each direction, failover to the
 * next server when one refuses, and the other side told at once (EOF or reset) when either dies.
 */
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { type BaseBackend, closedPort, type ConnRecord, rawBackend, SeededBytes, seededSha256 } from "../_helpers/backends.ts";
import { type Ferry, ferryLabel, startFerry } from "../_helpers/ferry.ts";
import { connectRaw } from "../_helpers/raw_http.ts";

const MiB = 1024 * 1024;
const STREAM = 2 * MiB;

/** What the scripted backend does with a connection, chosen by the first line the client sends. */
async function script(conn: ConnRecord): Promise<void> {
  const first = (await conn.reader.readUntil("\n")).toString();
  const sock = conn.socket;
  switch (first) {
    case "stream\n": {
      // Send STREAM seeded bytes while receiving the client's STREAM bytes; end after both.
      const gen = new SeededBytes(7);
      const h = createHash("sha256");
      let got = 0;
      const readAll = (async () => {
        while (got < STREAM) {
          const piece = await conn.reader.readExact(Math.min(64 * 1024, STREAM - got));
          got += piece.length;
          h.update(piece);
        }
      })();
      for (let sent = 0; sent < STREAM; sent += 64 * 1024) {
        if (!sock.write(gen.next(64 * 1024))) await new Promise((r) => sock.once("drain", r));
      }
      await readAll;
      // Report what arrived, then half-close.
      sock.end(`\nreceived ${got} ${h.digest("hex")}\n`);
      return;
    }
    case "reply-after-fin\n": {
      // Wait for the client's FIN, then answer: only works if the proxy passed the half-close on
      // and kept the way back open.
      const rest = await conn.reader.readToEnd();
      sock.end(`after your FIN I got ${JSON.stringify(rest.toString())}\n`);
      return;
    }
    case "fin-first\n": {
      // Half-close first; the client then keeps sending, and we keep reading.
      sock.end("bye from backend\n");
      return;
    }
    case "die\n": {
      // Say something, then die with a reset once the client asks for it.
      sock.write("dying\n");
      await conn.reader.readUntil("go\n");
      sock.resetAndDestroy();
      return;
    }
    case "hold\n": {
      sock.write("holding\n");
      return;
    }
  }
}

describe(`TCP mode (${ferryLabel()})`, () => {
  let backend: BaseBackend;
  let ferry: Ferry;
  let down: number;

  before(async () => {
    backend = await rawBackend(script);
    down = await closedPort();
    ferry = await startFerry(`
listeners:
  - name: raw
    listen: "127.0.0.1:0"
    mode: tcp
    backend: pair
backends:
  pair:
    servers: [ "127.0.0.1:${down}", "${backend.address}" ]
    timeouts: { connect: 1s }
`);
  });

  after(async () => {
    await ferry?.stop();
    await backend?.close();
  });

  it("listener line says tcp", () => {
    assert.equal(ferry.modes.raw, "tcp");
  });

  it("carries a byte stream both ways at once", { timeout: 30_000 }, async () => {
    const c = await connectRaw(ferry.ports.raw);
    try {
      const gen = new SeededBytes(8);
      await c.send("stream\n");
      const sending = (async () => {
        for (let sent = 0; sent < STREAM; sent += 64 * 1024) await c.send(gen.next(64 * 1024));
      })();
      const all = await c.readToEnd();
      await sending;
      const body = all.subarray(0, STREAM);
      const trailer = all.subarray(STREAM).toString();
      assert.equal(createHash("sha256").update(body).digest("hex"), seededSha256(7, STREAM), "backend→client bytes differ");
      assert.equal(trailer, `\nreceived ${STREAM} ${seededSha256(8, STREAM)}\n`, "client→backend bytes differ");
    } finally {
      c.close();
    }
  });

  it("passes the client's half-close on and still carries the reply", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.raw);
    try {
      await c.send("reply-after-fin\nlast words");
      c.end();
      const reply = await c.readToEnd();
      assert.equal(reply.toString(), `after your FIN I got "last words"\n`);
    } finally {
      c.close();
    }
  });

  it("passes the backend's half-close on and still carries the client's bytes", { timeout: 15_000 }, async () => {
    const before = backend.connections.length;
    const c = await connectRaw(ferry.ports.raw);
    try {
      await c.send("fin-first\n");
      assert.equal((await c.readToEnd()).toString(), "bye from backend\n");
      // The client saw EOF; its own direction must still be open end to end.
      await backend.until(() => backend.connections.length > before, "the backend connection");
      const conn = backend.connections[before];
      await c.send("still talking");
      c.end();
      await backend.until(
        () => conn.received().toString() === "fin-first\nstill talking" && conn.gotEnd,
        "the client's bytes and FIN after the backend's FIN",
      );
      await c.closed;
    } finally {
      c.close();
    }
  });

  it("closes the client when the backend dies", { timeout: 15_000 }, async () => {
    const c = await connectRaw(ferry.ports.raw);
    try {
      await c.send("die\n");
      assert.equal((await c.reader.readExact(6)).toString(), "dying\n");
      await c.send("go\n");
      // No hang: the client learns at once (EOF or reset) that the other end is gone.
      await c.reader.watch.until(() => c.reader.ended, 10_000, "ferry to pass on the backend's death (EOF or reset)");
    } finally {
      c.close();
    }
  });

  it("closes the backend connection when the client dies", { timeout: 15_000 }, async () => {
    const before = backend.connections.length;
    const c = await connectRaw(ferry.ports.raw);
    await c.send("hold\n");
    assert.equal((await c.reader.readExact(8)).toString(), "holding\n");
    await backend.until(() => backend.connections.length > before, "the backend connection");
    const conn = backend.connections[before];
    c.socket.resetAndDestroy();
    // No leak: the backend learns at once (EOF or reset) that the client is gone.
    await backend.until(() => conn.gotEnd, "ferry to pass on the client's death (EOF or reset)");
  });

  it("skips a server that refuses and connects to the next", { timeout: 15_000 }, async () => {
    // The first server in the list has nothing listening; every connection must still work.
    for (let i = 0; i < 4; i++) {
      const c = await connectRaw(ferry.ports.raw);
      try {
        await c.send("reply-after-fin\n" + i);
        c.end();
        assert.equal((await c.readToEnd()).toString(), `after your FIN I got "${i}"\n`);
      } finally {
        c.close();
      }
    }
  });
});
