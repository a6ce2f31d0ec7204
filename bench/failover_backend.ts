/**
 * A tiny keep-alive HTTP backend for bench/failover.sh: answers every request with its name
 * and a newline, and reports on stdout when it starts listening and when it serves its first
 * counted request, with wall-clock times in epoch milliseconds, so that the script can measure
 * how long ferry takes to send traffic to it again after a restart.
 *
 *   bun bench/failover_backend.ts NAME PORT
 *   deno run -A bench/failover_backend.ts NAME PORT
 *
 * Paths: `/__health` answers 200 and is not counted (ferry's active check), `/__count` answers
 * the number of counted requests served so far, anything else is counted.
 * stdout lines: `listening <ms>`, `first <ms>`.
 */
import { createServer } from "node:http";
import process from "node:process";

const [name, portText] = process.argv.slice(2);
const port = Number(portText);
if (!name || !Number.isInteger(port) || port < 1 || port > 65535) {
  process.stderr.write(`failover_backend: usage: failover_backend.ts NAME PORT, got ${JSON.stringify(process.argv.slice(2))}\n`);
  process.exit(2);
}

const body = `${name}\n`;
let served = 0;

const server = createServer((req, res) => {
  if (req.url === "/__health") {
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": "3" });
    res.end("ok\n");
    return;
  }
  if (req.url === "/__count") {
    const text = `${served}\n`;
    res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(text.length) });
    res.end(text);
    return;
  }
  served++;
  if (served === 1) process.stdout.write(`first ${Date.now()}\n`);
  res.writeHead(200, { "Content-Type": "text/plain", "Content-Length": String(body.length) });
  res.end(body);
});
// ferry keeps upstream connections in its pool; closing them early would add stale-connection
// retries to the measurement that have nothing to do with the failover.
server.keepAliveTimeout = 120_000;
server.on("error", (e) => {
  process.stderr.write(`failover_backend: cannot listen on "127.0.0.1:${port}": ${e.message}\n`);
  process.exit(1);
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`listening ${Date.now()}\n`));
