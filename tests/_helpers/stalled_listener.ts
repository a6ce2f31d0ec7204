/**
 * Child process for the connect-timeout test: listens with a backlog of 1 and then blocks its
 * own event loop, so it never accepts. Once the kernel's accept queue is full, further SYNs are
 * dropped and a connect hangs until the client gives up, which is what a dead host looks like.
 * Prints the port on stdout; exits on its own after 60 s in case the parent forgets it.
 */
import { createServer } from "node:net";
import { writeSync } from "node:fs";

const server = createServer();
server.listen({ host: "127.0.0.1", port: 0, backlog: 1 }, () => {
  const addr = server.address();
  writeSync(1, `${typeof addr === "object" && addr ? addr.port : 0}\n`);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  process.exit(0);
});
