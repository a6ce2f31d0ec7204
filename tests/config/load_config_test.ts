import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadConfig } from "../../lib/config/load_config.ts";
import type { Config } from "../../lib/config/types.ts";
import { DEFAULT_BACKEND, DEFAULT_LISTENER } from "./_defaults.ts";
import { configOf, errorsOf, messagesOf, yaml } from "./_yaml.ts";

/** The smallest valid config, used as a base by tests that only care about one part. */
const MINIMAL = yaml`
  listeners:
    - listen: ":8080"
      backend: app
  backends:
    app:
      servers: [127.0.0.1:9001]
`;

describe("loadConfig() defaults", () => {
  it("loadConfig() fills in every default of a minimal config", () => {
    const expected: Config = {
      listeners: [{
        name: "listener1",
        listen: { hostname: "0.0.0.0", port: 8080 },
        routes: [{ path: "/", action: { type: "proxy", backend: "app" } }],
        ...DEFAULT_LISTENER,
      }],
      backends: new Map([["app", {
        name: "app",
        servers: [{ address: "127.0.0.1:9001", hostname: "127.0.0.1", port: 9001, weight: 1, max_conns: 0 }],
        ...DEFAULT_BACKEND,
      }]]),
      log: { access: "stdout" },
      shutdown_timeout: 10_000,
      source: "config.yaml",
    };
    assert.deepEqual(configOf(MINIMAL), expected);
  });

  it("loadConfig() reads shutdown_timeout as a duration, 1ms to 596h", () => {
    assert.equal(configOf(`shutdown_timeout: 1m30s\n${MINIMAL}`).shutdown_timeout, 90_000);
    assert.deepEqual(messagesOf(`shutdown_timeout: 30\n${MINIMAL}`), ["shutdown_timeout: needs a unit, like \"30s\" or \"30ms\", got \"30\""]);
    assert.deepEqual(messagesOf(`shutdown_timeout: 0s\n${MINIMAL}`), ["shutdown_timeout: must be from 1ms to 596h, got \"0s\""]);
  });

  it("loadConfig() names unnamed listeners by their 1-based position", () => {
    const config = configOf(yaml`
      listeners:
        - { name: web, listen: ":8080", backend: app }
        - { listen: ":8081", backend: app }
      backends: { app: { servers: [127.0.0.1:9001] } }
    `);
    assert.deepEqual(config.listeners.map((l) => l.name), ["web", "listener2"]);
  });

  it("loadConfig() applies route, respond and redirect defaults", () => {
    const config = configOf(yaml`
      listeners:
        - listen: ":8080"
          routes:
            - path: /a
              respond: {}
            - path: /b
              respond: "ok\n"
            - path: /c
              redirect: { to: "https://example.com/" }
            - redirect: /elsewhere
    `);
    assert.deepEqual(config.listeners[0].routes, [
      { path: "/a", action: { type: "respond", status: 200, headers: [], body: "" } },
      { path: "/b", action: { type: "respond", status: 200, headers: [], body: "ok\n" } },
      { path: "/c", action: { type: "redirect", to: "https://example.com/", status: 302 } },
      { path: "/", action: { type: "redirect", to: "/elsewhere", status: 302 } },
    ]);
    assert.equal(config.backends.size, 0);
  });

  it("loadConfig() reads an unquoted number after respond as a status, a quoted one as a body", () => {
    const config = configOf(yaml`
      listeners:
        - listen: ":8080"
          routes:
            - { path: /gone, respond: 410 }
            - { path: /text, respond: "410" }
    `);
    assert.deepEqual(config.listeners[0].routes.map((r) => r.action), [
      { type: "respond", status: 410, headers: [], body: "" },
      { type: "respond", status: 200, headers: [], body: "410" },
    ]);
    assert.deepEqual(messagesOf(yaml`
      listeners:
        - listen: ":8080"
          routes:
            - { path: /x, respond: 99 }
    `), ["listeners[0].routes[0].respond: must be an integer from 200 to 599, got \"99\""]);
  });

  it("loadConfig() tells an unquoted wildcard host (a YAML alias) to be quoted", () => {
    assert.deepEqual(messagesOf(yaml`
      listeners:
        - listen: ":8080"
          routes:
            - { host: *.example.com, respond: "x" }
    `), ['listeners[0].routes[0].host: must be a string, got the YAML alias *.example.com, which names no anchor (quote a value that starts with "*": "*.example.com")']);
  });

  it("loadConfig() applies tcp listener defaults", () => {
    const config = configOf(yaml`
      listeners:
        - { listen: ":5432", mode: tcp, backend: db }
      backends: { db: { servers: ["[::1]:5433"] } }
    `);
    assert.deepEqual(config.listeners[0], {
      name: "listener1",
      listen: { hostname: "0.0.0.0", port: 5432 },
      routes: [],
      backend: "db",
      ...DEFAULT_LISTENER,
      mode: "tcp",
    });
    assert.deepEqual(config.backends.get("db")!.servers, [
      { address: "[::1]:5433", hostname: "::1", port: 5433, weight: 1, max_conns: 0 },
    ]);
  });
});

describe("loadConfig() full config", () => {
  const FULL = yaml`
    log: { access: /var/log/ferry/access.log }
    listeners:
      - name: web
        listen: "127.0.0.1:8080"
        mode: http
        limits:
          max_request_line: 4KiB
          max_head_size: 16384
          max_headers: 50
          max_body_size: 10MB
          max_keepalive_requests: 20
          max_conns: 300
          max_conns_per_ip: 0
        timeouts: { header: 5s, keepalive: 1m30s, body: 20s, tunnel_idle: 2h }
        backend: app
        routes:
          - host: "API.Example.com"
            path: /v1
            backend: api
          - host: "*.example.com"
            respond:
              status: 503
              headers: { Content-Type: text/plain, Set-Cookie: [a=1, b=2], Retry-After: 120 }
              body: "down\n"
          - path: /old
            redirect: { to: "https://example.com/new", status: 308 }
      - name: db
        listen: "[::]:5432"
        mode: tcp
        timeouts: { tcp_idle: 30m }
        limits: { max_conns: 50, max_conns_per_ip: 5 }
        backend: api
    backends:
      api:
        balance: round_robin
        servers:
          - 10.0.0.1:9001
          - { address: "api-2.internal:9002", weight: 3 }
        timeouts: { connect: 250ms, response: 2m, idle: 1h }
        limits: { max_head_size: 16KiB, max_headers: 40 }
        max_idle_conns: 0
      app:
        servers: [localhost:3000]
  `;

  it("loadConfig() reads every field", () => {
    const config = configOf(FULL);
    assert.deepEqual(config.log, { access: "/var/log/ferry/access.log" });
    assert.deepEqual(config.listeners[0], {
      name: "web",
      listen: { hostname: "127.0.0.1", port: 8080 },
      mode: "http",
      limits: {
        max_request_line: 4096,
        max_head_size: 16384,
        max_headers: 50,
        max_body_size: 10_000_000,
        max_keepalive_requests: 20,
        max_conns: 300,
        max_conns_per_ip: 0,
      },
      timeouts: { header: 5_000, keepalive: 90_000, send: 60_000, body: 20_000, tunnel_idle: 7_200_000, tcp_idle: 3_600_000 },
      routes: [
        { host: "api.example.com", path: "/v1", action: { type: "proxy", backend: "api" } },
        {
          host: "*.example.com",
          path: "/",
          action: {
            type: "respond",
            status: 503,
            headers: [["Content-Type", "text/plain"], ["Set-Cookie", "a=1"], ["Set-Cookie", "b=2"], [
              "Retry-After",
              "120",
            ]],
            body: "down\n",
          },
        },
        { path: "/old", action: { type: "redirect", to: "https://example.com/new", status: 308 } },
        { path: "/", action: { type: "proxy", backend: "app" } },
      ],
    });
    assert.deepEqual(config.listeners[1], {
      name: "db",
      listen: { hostname: "::", port: 5432 },
      mode: "tcp",
      routes: [],
      backend: "api",
      limits: { ...DEFAULT_LISTENER.limits, max_conns: 50, max_conns_per_ip: 5 },
      timeouts: { header: 10_000, keepalive: 60_000, send: 60_000, body: 60_000, tunnel_idle: 3_600_000, tcp_idle: 1_800_000 },
    });
    assert.deepEqual(config.backends.get("api"), {
      name: "api",
      servers: [
        { address: "10.0.0.1:9001", hostname: "10.0.0.1", port: 9001, weight: 1, max_conns: 0 },
        { address: "api-2.internal:9002", hostname: "api-2.internal", port: 9002, weight: 3, max_conns: 0 },
      ],
      ...DEFAULT_BACKEND,
      timeouts: { connect: 250, response: 120_000, idle: 3_600_000 },
      limits: { max_head_size: 16384, max_headers: 40 },
      max_idle_conns: 0,
    });
    assert.deepEqual([...config.backends.keys()], ["api", "app"]);
  });

  it("loadConfig() keeps routes in config order", () => {
    const config = configOf(yaml`
      listeners:
        - listen: ":8080"
          routes:
            - { respond: "any" }
            - { path: /a/b, respond: "ab" }
            - { host: x.test, path: /a, respond: "xa" }
    `);
    assert.deepEqual(config.listeners[0].routes.map((r) => `${r.host ?? "*"} ${r.path}`), [
      "* /",
      "* /a/b",
      "x.test /a",
    ]);
  });

  it("loadConfig() resolves YAML anchors and aliases", () => {
    const config = configOf(yaml`
      listeners:
        - { listen: ":8080", backend: a }
      backends:
        a: { servers: [127.0.0.1:9001], timeouts: &slow { response: 5m } }
        b: { servers: [127.0.0.1:9002], timeouts: *slow }
    `);
    assert.equal(config.backends.get("b")!.timeouts.response, 300_000);
  });

  it("loadConfig() accepts plain integers for sizes and counts", () => {
    const config = configOf(yaml`
      listeners:
        - listen: ":8080"
          backend: app
          limits: { max_request_line: 1000, max_head_size: "2000", max_headers: "7", max_body_size: 0, max_conns: "9" }
      backends: { app: { servers: [127.0.0.1:9001], max_idle_conns: "4" } }
    `);
    assert.deepEqual(config.listeners[0].limits, {
      ...DEFAULT_LISTENER.limits,
      max_request_line: 1000,
      max_head_size: 2000,
      max_headers: 7,
      max_body_size: 0,
      max_conns: 9,
    });
    assert.equal(config.backends.get("app")!.max_idle_conns, 4);
  });

  it("loadConfig() accepts log access off", () => {
    assert.deepEqual(configOf(`log: { access: off }\n${MINIMAL}`).log, { access: "off" });
  });
});

describe("loadConfig() errors", () => {
  it("loadConfig() reports the exact position of a bad value", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - listen: ":8080"
            backend: api
        backends:
          api:
            servers:
              - 127.0.0.1:9001
              - { address: 127.0.0.1:9002, weight: two }
      `),
      ['config.yaml:8:44: backends.api.servers[1].weight: must be an integer from 1 to 1000, got "two"'],
    );
  });

  it("loadConfig() reports a missing key at its parent mapping", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - name: web
            backend: app
        backends:
          app: { servers: [127.0.0.1:9001] }
      `),
      ["config.yaml:2:5: listeners[0].listen: required key is missing"],
    );
    assert.deepEqual(errorsOf("log: { access: stdout }\n"), [
      "config.yaml:1:1: listeners: required key is missing",
    ]);
  });

  it("loadConfig() reports an unknown key at the key", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - listen: ":8080"
            backend: app
            timeout: { header: 5s }
        backends:
          app: { servers: [127.0.0.1:9001] }
      `),
      [
        "config.yaml:4:5: listeners[0].timeout: unknown key, expected one of: name, listen, mode, limits, timeouts, backend, routes",
      ],
    );
  });

  it("loadConfig() reports an unknown backend at the reference", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - listen: ":8080"
            routes:
              - { path: /x, backend: x }
        backends:
          api: { servers: [127.0.0.1:9001] }
          web: { servers: [127.0.0.1:9002] }
      `),
      ['config.yaml:4:30: listeners[0].routes[0].backend: unknown backend "x", defined: api, web'],
    );
    assert.deepEqual(messagesOf(`listeners: [{ listen: ":1", mode: tcp, backend: db }]\n`), [
      'listeners[0].backend: unknown backend "db", no backends are defined',
    ]);
  });

  it("loadConfig() reports every problem at once, in file order", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - listen: ":8080"
            mode: udp
            backend: nope
          - listen: ":8080"
            backend: app
        backends:
          app:
            servers: []
            max_idle_conns: -1
      `),
      [
        'config.yaml:3:11: listeners[0].mode: must be one of: http, tcp, got "udp"',
        'config.yaml:4:14: listeners[0].backend: unknown backend "nope", defined: app',
        'config.yaml:5:13: listeners[1].listen: already used by listeners[0], got ":8080"',
        "config.yaml:9:14: backends.app.servers: must list at least one server, got an empty list",
        'config.yaml:10:21: backends.app.max_idle_conns: must be an integer from 0 to 10000, got "-1"',
      ],
    );
  });

  it("loadConfig() reports YAML syntax errors with their position", () => {
    assert.deepEqual(errorsOf("listeners:\n  - listen: \":8080\n"), [
      // The yaml package only notices at the end of the text.
      'config.yaml:3:1: invalid YAML, missing closing "quote',
    ]);
    assert.deepEqual(errorsOf("listeners: [a, b\nbackends: {}\n"), [
      "config.yaml:2:1: invalid YAML, flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}listeners: []\n`), [
      "config.yaml:7:1: invalid YAML, duplicate key, each key may appear only once in a mapping",
    ]);
    assert.deepEqual(errorsOf(`${MINIMAL}---\nlog: {}\n`), [
      "config.yaml:7:1: invalid YAML, expected one document, found another after ---",
    ]);
  });

  it("loadConfig() reports a YAML syntax error the yaml package repeats only once", () => {
    // The yaml package reports the first of these twice at the same place.
    assert.deepEqual(errorsOf("{{{\n"), [
      "config.yaml:2:1: invalid YAML, flow map in block collection must be sufficiently indented and end with a }",
      "config.yaml:2:1: invalid YAML, flow map must end with a }",
    ]);
    assert.deepEqual(errorsOf("a: {{\n"), [
      "config.yaml:2:1: invalid YAML, flow map in block collection must be sufficiently indented and end with a }",
    ]);
  });

  it("loadConfig() rejects a document that is not a mapping", () => {
    assert.deepEqual(errorsOf("- a\n"), ["config.yaml:1:1: must be a mapping, got a list"]);
    assert.deepEqual(errorsOf(""), ["config.yaml:1:1: listeners: required key is missing"]);
    assert.deepEqual(errorsOf("# only a comment\n"), ["config.yaml:1:1: listeners: required key is missing"]);
  });

  it("loadConfig() returns errors or a config, never both", () => {
    const result = loadConfig(MINIMAL, "x.yaml");
    assert.deepEqual(Object.keys(result), ["config"]);
    assert.deepEqual(Object.keys(loadConfig("", "x.yaml")), ["errors"]);
  });
});

/** One case per message: a config with exactly that problem and its error without position. */
const MESSAGES: [string, string, string][] = [
  [
    "unknown top-level key",
    `${MINIMAL}logs: {}\n`,
    "logs: unknown key, expected one of: log, listeners, backends, resolver, shutdown_timeout",
  ],
  [
    "merge keys",
    yaml`
      listeners:
        - { <<: {}, listen: ":8080", backend: app }
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    'listeners[0]["<<"]: merge keys are not supported, write the keys out',
  ],
  ["empty listeners", "listeners: []\n", "listeners: must list at least one listener, got an empty list"],
  ["listeners not a list", "listeners: { listen: x }\n", "listeners: must be a list, got a mapping"],
  ["listener not a mapping", `listeners: [":8080"]\n`, 'listeners[0]: must be a mapping, got ":8080"'],
  ["empty log access", `log: { access: "" }\n${MINIMAL}`, 'log.access: must be "stdout", "stderr", "off" or a file path, got ""'],
  ["log access a mapping", `log: { access: {} }\n${MINIMAL}`, "log.access: must be a string, got an empty mapping"],
  [
    "an unknown listener key",
    `listeners: [{ name: web, listen: ":1", routes: [{ respond: x }], respond: x }]\n`,
    "listeners[0].respond: unknown key, expected one of: name, listen, mode, limits, timeouts, backend, routes",
  ],
  [
    "bad listener name chars",
    `listeners: [{ name: "my web", listen: ":1", routes: [{ respond: x }] }]\n`,
    'listeners[0].name: must be 1 to 64 letters, digits, "_", "-" or ".", got "my web"',
  ],
  [
    "duplicate listener name",
    `listeners: [{ name: a, listen: ":1", routes: [{ respond: x }] }, { name: a, listen: ":2", routes: [{ respond: x }] }]\n`,
    'listeners[1].name: already used by listeners[0], got "a"',
  ],
  [
    "explicit name taking a default name",
    `listeners: [{ listen: ":1", routes: [{ respond: x }] }, { name: listener1, listen: ":2", routes: [{ respond: x }] }]\n`,
    'listeners[1].name: already used by listeners[0], got "listener1"',
  ],
  [
    "default name already taken",
    `listeners: [{ name: listener2, listen: ":1", routes: [{ respond: x }] }, { listen: ":2", routes: [{ respond: x }] }]\n`,
    'listeners[1].name: default name is taken by listeners[0], set a name, got "listener2"',
  ],
  [
    "wildcard listen clash",
    `listeners: [{ listen: ":80", routes: [{ respond: x }] }, { listen: "127.0.0.1:80", routes: [{ respond: x }] }]\n`,
    'listeners[1].listen: clashes with listeners[0] on "0.0.0.0:80" (a wildcard address takes the port everywhere), got "127.0.0.1:80"',
  ],
  [
    "bad listen address",
    `listeners: [{ listen: "localhost", routes: [{ respond: x }] }]\n`,
    'listeners[0].listen: needs a port, like "localhost:8080", got "localhost"',
  ],
  [
    "listen as a number",
    `listeners: [{ listen: 8080, routes: [{ respond: x }] }]\n`,
    'listeners[0].listen: needs a port, like ":8080", got "8080"',
  ],
  [
    "bad mode",
    `listeners: [{ listen: ":1", mode: udp, routes: [{ respond: x }] }]\n`,
    'listeners[0].mode: must be one of: http, tcp, got "udp"',
  ],
  [
    "http listener without routes or backend",
    `listeners: [{ listen: ":1" }]\n`,
    "listeners[0]: needs routes or a backend",
  ],
  [
    "http listener with empty routes",
    `listeners: [{ listen: ":1", routes: [] }]\n`,
    "listeners[0].routes: must list at least one route, got an empty list",
  ],
  ["tcp listener without backend", `listeners: [{ listen: ":1", mode: tcp }]\n`, "listeners[0]: needs a backend with mode: tcp"],
  [
    "tcp listener with routes",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, routes: [{ respond: x }] }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].routes: not allowed with mode: tcp, use backend to name the target",
  ],
  [
    "tcp listener with limits",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, limits: { max_headers: 5 } }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].limits.max_headers: only applies to mode: http",
  ],
  [
    "tcp listener with a body size limit",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, limits: { max_body_size: 1MiB } }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].limits.max_body_size: only applies to mode: http",
  ],
  [
    "tcp listener with a body timeout",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, timeouts: { body: 5s } }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].timeouts.body: only applies to mode: http",
  ],
  [
    "tcp listener with a header timeout",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, timeouts: { keepalive: 5s } }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].timeouts.keepalive: only applies to mode: http",
  ],
  [
    "tcp listener with a tunnel_idle timeout",
    yaml`
      listeners: [{ listen: ":1", mode: tcp, backend: app, timeouts: { tunnel_idle: 5m } }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].timeouts.tunnel_idle: only applies to mode: http",
  ],
  [
    "zero tunnel_idle",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { tunnel_idle: 0s } }]\n`,
    'listeners[0].timeouts.tunnel_idle: must be from 1ms to 596h, got "0s"',
  ],
  [
    "tunnel_idle beyond what timers hold",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { tunnel_idle: 597h } }]\n`,
    'listeners[0].timeouts.tunnel_idle: must be from 1ms to 596h, got "597h"',
  ],
  [
    "http listener with tcp_idle",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { tcp_idle: 5s } }]\n`,
    "listeners[0].timeouts.tcp_idle: only applies to mode: tcp",
  ],
  [
    "duration without a unit",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { header: 30 } }]\n`,
    'listeners[0].timeouts.header: needs a unit, like "30s" or "30ms", got "30"',
  ],
  [
    "zero duration",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { keepalive: 0s } }]\n`,
    'listeners[0].timeouts.keepalive: must be from 1ms to 596h, got "0s"',
  ],
  [
    "duration beyond what timers hold",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { keepalive: 600h } }]\n`,
    'listeners[0].timeouts.keepalive: must be from 1ms to 596h, got "600h"',
  ],
  [
    "size with a bad unit",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_head_size: 32kb } }]\n`,
    'listeners[0].limits.max_head_size: unknown unit "kb" (use B, KB, KiB, MB, MiB, GB, GiB), got "32kb"',
  ],
  [
    "size out of range",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_request_line: 2MiB } }]\n`,
    'listeners[0].limits.max_request_line: must be from 64B to 1MiB, got "2MiB"',
  ],
  [
    "head smaller than request line",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_head_size: 4KiB } }]\n`,
    'listeners[0].limits.max_head_size: must be at least max_request_line (8192 bytes), got "4KiB"',
  ],
  [
    "request line larger than head",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_request_line: 64KiB } }]\n`,
    'listeners[0].limits.max_request_line: must be at most max_head_size (32768 bytes), got "64KiB"',
  ],
  [
    "max_headers out of range",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_headers: 0 } }]\n`,
    'listeners[0].limits.max_headers: must be an integer from 1 to 10000, got "0"',
  ],
  [
    "max_conns of zero",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_conns: 0 } }]\n`,
    'listeners[0].limits.max_conns: must be an integer from 1 to 1000000, got "0"',
  ],
  [
    "negative max_conns_per_ip",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_conns_per_ip: -1 } }]\n`,
    'listeners[0].limits.max_conns_per_ip: must be an integer from 0 to 1000000, got "-1"',
  ],
  [
    "max_keepalive_requests of zero",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_keepalive_requests: 0 } }]\n`,
    'listeners[0].limits.max_keepalive_requests: must be an integer from 1 to 1000000, got "0"',
  ],
  [
    "max_body_size as a word",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_body_size: lots } }]\n`,
    'listeners[0].limits.max_body_size: must be a size like "64KiB" or a number of bytes, got "lots"',
  ],
  [
    "body timeout without a unit",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { body: 30 } }]\n`,
    'listeners[0].timeouts.body: needs a unit, like "30s" or "30ms", got "30"',
  ],
  [
    "route without action",
    `listeners: [{ listen: ":1", routes: [{ path: /x }] }]\n`,
    "listeners[0].routes[0]: needs one of: backend, respond, redirect",
  ],
  [
    "route with backend and respond",
    yaml`
      listeners: [{ listen: ":1", routes: [{ backend: app, respond: x }] }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].routes[0]: must have only one of backend, respond, redirect, got backend and respond",
  ],
  [
    "route with respond and redirect",
    `listeners: [{ listen: ":1", routes: [{ respond: x, redirect: /y }] }]\n`,
    "listeners[0].routes[0]: must have only one of backend, respond, redirect, got respond and redirect",
  ],
  [
    "duplicate route",
    `listeners: [{ listen: ":1", routes: [{ path: /a, respond: x }, { path: /a, redirect: /b }] }]\n`,
    "listeners[0].routes[1]: never matches, routes[0] has the same host and path",
  ],
  [
    "backend shorthand after a catch-all route",
    yaml`
      listeners: [{ listen: ":1", backend: app, routes: [{ respond: x }] }]
      backends: { app: { servers: [127.0.0.1:9001] } }
    `,
    "listeners[0].backend: never used, routes[0] already matches every request",
  ],
  [
    "host with a port",
    `listeners: [{ listen: ":1", routes: [{ host: "a.test:8080", respond: x }] }]\n`,
    'listeners[0].routes[0].host: must not include a port (routes match any port), got "a.test:8080"',
  ],
  [
    "host with a misplaced wildcard",
    `listeners: [{ listen: ":1", routes: [{ host: "api.*.test", respond: x }] }]\n`,
    'listeners[0].routes[0].host: may only have "*" as its whole first label, like "*.example.com", got "api.*.test"',
  ],
  [
    "host that is only a wildcard",
    `listeners: [{ listen: ":1", routes: [{ host: "*", respond: x }] }]\n`,
    'listeners[0].routes[0].host: leave host out to match any host, got "*"',
  ],
  [
    "host with bad characters",
    `listeners: [{ listen: ":1", routes: [{ host: "a b.test", respond: x }] }]\n`,
    'listeners[0].routes[0].host: must be a host name like "api.example.com" or "*.example.com", got "a b.test"',
  ],
  [
    "path without a slash",
    `listeners: [{ listen: ":1", routes: [{ path: v1, respond: x }] }]\n`,
    'listeners[0].routes[0].path: must start with "/", got "v1"',
  ],
  [
    "path with a query",
    `listeners: [{ listen: ":1", routes: [{ path: "/a?b=1", respond: x }] }]\n`,
    'listeners[0].routes[0].path: must not contain "?" or "#", routes match the path only, got "/a?b=1"',
  ],
  [
    "path with a space",
    `listeners: [{ listen: ":1", routes: [{ path: "/a b", respond: x }] }]\n`,
    'listeners[0].routes[0].path: must not contain spaces or control characters, got "/a b"',
  ],
  [
    "respond with 1xx status",
    `listeners: [{ listen: ":1", routes: [{ respond: { status: 101 } }] }]\n`,
    'listeners[0].routes[0].respond.status: must be an integer from 200 to 599, got "101"',
  ],
  [
    "respond with a body on 204",
    `listeners: [{ listen: ":1", routes: [{ respond: { status: 204, body: x } }] }]\n`,
    'listeners[0].routes[0].respond.body: must be empty with status 204, got "x"',
  ],
  [
    "respond with nothing",
    `listeners: [{ listen: ":1", routes: [{ respond: }] }]\n`,
    "listeners[0].routes[0].respond: must be a body string or a mapping with status, headers and body, got nothing",
  ],
  [
    "respond with an unknown key",
    `listeners: [{ listen: ":1", routes: [{ respond: { code: 200 } }] }]\n`,
    "listeners[0].routes[0].respond.code: unknown key, expected one of: status, headers, body",
  ],
  [
    "invalid header name",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { "X Y": z } } }] }]\n`,
    'listeners[0].routes[0].respond.headers["X Y"]: must be a valid header name (letters, digits and !#$%&\'*+-.^_`|~), got "X Y"',
  ],
  [
    "header value with CR LF",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { X-A: "a\\r\\nSet-Cookie: b" } } }] }]\n`,
    'listeners[0].routes[0].respond.headers.X-A: must not contain CR, LF or NUL, got "a\\r\\nSet-Cookie: b"',
  ],
  [
    "header value with NUL in a list",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { X-A: [ok, "a\\0"] } } }] }]\n`,
    'listeners[0].routes[0].respond.headers.X-A[1]: must not contain CR, LF or NUL, got "a\\u0000"',
  ],
  [
    "header with no values",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { X-A: [] } } }] }]\n`,
    "listeners[0].routes[0].respond.headers.X-A: must have at least one value, got an empty list",
  ],
  [
    "framing header",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { content-length: 5 } } }] }]\n`,
    "listeners[0].routes[0].respond.headers.content-length: cannot be set, ferry frames the body itself",
  ],
  [
    "hop-by-hop header",
    `listeners: [{ listen: ":1", routes: [{ respond: { headers: { Connection: close } } }] }]\n`,
    "listeners[0].routes[0].respond.headers.Connection: cannot be set, it is a hop-by-hop header",
  ],
  [
    "redirect with a bad status",
    `listeners: [{ listen: ":1", routes: [{ redirect: { to: /x, status: 300 } }] }]\n`,
    'listeners[0].routes[0].redirect.status: must be one of: 301, 302, 303, 307, 308, got "300"',
  ],
  [
    "redirect without to",
    `listeners: [{ listen: ":1", routes: [{ redirect: { status: 301 } }] }]\n`,
    "listeners[0].routes[0].redirect.to: required key is missing",
  ],
  [
    "redirect to a relative target",
    `listeners: [{ listen: ":1", routes: [{ redirect: example.com }] }]\n`,
    'listeners[0].routes[0].redirect: must be an absolute URL or a path starting with "/", got "example.com"',
  ],
  [
    "redirect to a target with a space",
    `listeners: [{ listen: ":1", routes: [{ redirect: "/a b" }] }]\n`,
    'listeners[0].routes[0].redirect: must not contain spaces or control characters, got "/a b"',
  ],
  [
    "redirect as a list",
    `listeners: [{ listen: ":1", routes: [{ redirect: [/a] }] }]\n`,
    "listeners[0].routes[0].redirect: must be a URL or a mapping with to and status, got a list",
  ],
  [
    "bad backend name",
    `${MINIMAL}  "my app": { servers: [127.0.0.1:9001] }\n`,
    'backends["my app"]: must be 1 to 64 letters, digits, "_", "-" or ".", got "my app"',
  ],
  [
    "unknown balance policy",
    `${MINIMAL}    balance: fastest\n`,
    'backends.app.balance: must be one of: round_robin, least_conn, random_two, ip_hash, hash, first, got "fastest"',
  ],
  [
    "backend without servers",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { balance: round_robin } }\n`,
    "backends.app.servers: required key is missing",
  ],
  [
    "server without host",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [":9001"] } }\n`,
    'backends.app.servers[0]: needs a host, like "127.0.0.1:8080", got ":9001"',
  ],
  [
    "server with port 0",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: ["127.0.0.1:0"] } }\n`,
    'backends.app.servers[0]: must have a port from 1 to 65535, like "127.0.0.1:8080", got "127.0.0.1:0"',
  ],
  [
    "server mapping without address",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [{ weight: 2 }] } }\n`,
    "backends.app.servers[0].address: required key is missing",
  ],
  [
    "server weight too large",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [{ address: "a:1", weight: 1001 }] } }\n`,
    'backends.app.servers[0].weight: must be an integer from 1 to 1000, got "1001"',
  ],
  [
    "fractional weight",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [{ address: "a:1", weight: 1.5 }] } }\n`,
    'backends.app.servers[0].weight: must be a whole number written in digits, like 2, got "1.5"',
  ],
  [
    "duplicate server",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: ["a:1", "A:1"] } }\n`,
    'backends.app.servers[1]: duplicate of servers[0] (use weight for a bigger share), got "A:1"',
  ],
  [
    "backend timeout without unit",
    `${MINIMAL}    timeouts: { connect: 5 }\n`,
    'backends.app.timeouts.connect: needs a unit, like "5s" or "5ms", got "5"',
  ],
  [
    "a response head limit too small",
    `${MINIMAL}    limits: { max_head_size: 10B }\n`,
    'backends.app.limits.max_head_size: must be from 64B to 1MiB, got "10B"',
  ],
  [
    "an unknown backend limit",
    `${MINIMAL}    limits: { max_body_size: 1MiB }\n`,
    "backends.app.limits.max_body_size: unknown key, expected one of: max_head_size, max_headers",
  ],
  [
    "negative max_idle_conns",
    `${MINIMAL}    max_idle_conns: -1\n`,
    'backends.app.max_idle_conns: must be an integer from 0 to 10000, got "-1"',
  ],
  [
    "server with an IPv4 address out of range",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [300.1.1.1:19001] } }\n`,
    'backends.app.servers[0]: has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got "300.1.1.1:19001"',
  ],
  [
    "server with a short IPv4 address",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [10.1:80] } }\n`,
    'backends.app.servers[0]: has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got "10.1:80"',
  ],
  [
    "listen with an IPv4 address out of range",
    `listeners: [{ listen: "1.2.3.256:80", routes: [{ respond: x }] }]\n`,
    'listeners[0].listen: has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got "1.2.3.256:80"',
  ],
  [
    "server at 0.0.0.0",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [0.0.0.0:19001] } }\n`,
    'backends.app.servers[0]: must name a server, not the unspecified address "0.0.0.0" (listen only), like "127.0.0.1:8080", got "0.0.0.0:19001"',
  ],
  [
    "server at [::]",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [{ address: "[::]:19001" }] } }\n`,
    'backends.app.servers[0].address: must name a server, not the unspecified address "::" (listen only), like "127.0.0.1:8080", got "[::]:19001"',
  ],
  [
    "server with a space",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: ["127.0.0.1 :9001"] } }\n`,
    'backends.app.servers[0]: must not contain spaces or control characters, got "127.0.0.1 :9001"',
  ],
  [
    "listen with a trailing space",
    `listeners: [{ listen: ":8080 ", routes: [{ respond: x }] }]\n`,
    'listeners[0].listen: must not contain spaces or control characters, got ":8080 "',
  ],
  [
    "server twice, once with a final dot",
    `listeners: [{ listen: ":1", backend: app }]\nbackends: { app: { servers: [localhost:19002, localhost.:19002] } }\n`,
    'backends.app.servers[1]: duplicate of servers[0] (use weight for a bigger share), got "localhost.:19002"',
  ],
  [
    "listen clash between a name and its FQDN",
    `listeners: [{ listen: "localhost:80", routes: [{ respond: x }] }, { listen: "localhost.:80", routes: [{ respond: x }] }]\n`,
    'listeners[1].listen: already used by listeners[0], got "localhost.:80"',
  ],
  [
    "bare 0 for a timeout that cannot be 0",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], timeouts: { header: 0 } }]\n`,
    'listeners[0].timeouts.header: must be from 1ms to 596h, got "0"',
  ],
  [
    "a size written in hex",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_body_size: 0x100000 } }]\n`,
    'listeners[0].limits.max_body_size: must be a whole number of bytes written in digits, like 512, or a size like "64KiB", got "0x100000"',
  ],
  [
    "a size with a leading zero",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_request_line: 04096 } }]\n`,
    'listeners[0].limits.max_request_line: must be a whole number of bytes written in digits, like 512, or a size like "64KiB", got "04096"',
  ],
  [
    "a size in exponent form",
    `listeners: [{ listen: ":1", routes: [{ respond: x }], limits: { max_body_size: 1e6 } }]\n`,
    'listeners[0].limits.max_body_size: must be a whole number of bytes written in digits, like 512, or a size like "64KiB", got "1e6"',
  ],
  [
    "a respond status in hex",
    `listeners: [{ listen: ":1", routes: [{ respond: { status: 0x12c } }] }]\n`,
    'listeners[0].routes[0].respond.status: must be a whole number written in digits, like 200, got "0x12c"',
  ],
  [
    "a redirect status with a decimal point",
    `listeners: [{ listen: ":1", routes: [{ redirect: { to: /x, status: 301.0 } }] }]\n`,
    'listeners[0].routes[0].redirect.status: must be a whole number written in digits, like 301, got "301.0"',
  ],
  [
    "backend that is empty",
    `${MINIMAL}  other:\n`,
    "backends.other: must be a mapping, got nothing",
  ],
];

/** Every count, and every way of writing a number that YAML reads but a count may not use. */
const COUNTS: [string, string][] = [
  ["backends.app.retries", "retries: %"],
  ["backends.app.max_conns", "max_conns: %"],
  ["backends.app.max_idle_conns", "max_idle_conns: %"],
  ["backends.app.limits.max_headers", "limits: { max_headers: % }"],
  ["backends.app.passive.max_fails", "passive: { max_fails: % }"],
  ["backends.app.health.rise", "health: { rise: % }"],
];
const MISWRITTEN = ["2.0", "1e1", "0x10", "+5", "010", "0o10", "-0", ".inf", '"010"', '"2.0"', "'+5'"];

describe("loadConfig() counts written in digits", () => {
  for (const [path, line] of COUNTS) {
    for (const written of MISWRITTEN) {
      const text = line.replace("%", written);
      it(`loadConfig() rejects ${text}`, () => {
        assert.deepEqual(messagesOf(`${MINIMAL}    ${text}\n`), [
          `${path}: must be a whole number written in digits, like 2, got ${JSON.stringify(written.replace(/^["']|["']$/g, ""))}`,
        ]);
      });
    }
  }

  it("loadConfig() rejects a weight or a listener count written another way than digits", () => {
    assert.deepEqual(
      messagesOf(yaml`
        listeners:
          - listen: ":8080"
            backend: app
            limits: { max_headers: 0x10, max_keepalive_requests: 1e3, max_conns: 100.0, max_conns_per_ip: +10 }
        backends:
          app: { servers: [{ address: 127.0.0.1:9001, weight: 02, max_conns: 0o5 }] }
      `),
      [
        'listeners[0].limits.max_headers: must be a whole number written in digits, like 2, got "0x10"',
        'listeners[0].limits.max_keepalive_requests: must be a whole number written in digits, like 2, got "1e3"',
        'listeners[0].limits.max_conns: must be a whole number written in digits, like 2, got "100.0"',
        'listeners[0].limits.max_conns_per_ip: must be a whole number written in digits, like 2, got "+10"',
        'backends.app.servers[0].weight: must be a whole number written in digits, like 2, got "02"',
        'backends.app.servers[0].max_conns: must be a whole number written in digits, like 2, got "0o5"',
      ],
    );
  });

  it("loadConfig() accepts counts as digits, quoted digits and 0", () => {
    const config = configOf(yaml`
      listeners:
        - listen: ":8080"
          backend: app
          limits: { max_headers: "20", max_conns_per_ip: 0 }
      backends: { app: { servers: [127.0.0.1:9001], retries: "0", max_idle_conns: 10 } }
    `);
    assert.deepEqual([config.listeners[0].limits.max_headers, config.listeners[0].limits.max_conns_per_ip], [20, 0]);
    assert.deepEqual([config.backends.get("app")!.retries, config.backends.get("app")!.max_idle_conns], [0, 10]);
  });

  it("loadConfig() still gives the range for a negative count and for a word", () => {
    assert.deepEqual(messagesOf(`${MINIMAL}    retries: -3\n    max_conns: lots\n`), [
      'backends.app.retries: must be an integer from 0 to 100, got "-3"',
      'backends.app.max_conns: must be an integer from 0 to 1000000, got "lots"',
    ]);
  });
});

describe("loadConfig() error messages", () => {
  for (const [name, text, expected] of MESSAGES) {
    it(`loadConfig() reports ${name}`, () => {
      assert.deepEqual(messagesOf(text), [expected]);
    });
  }
});

/** YAML values that are neither text nor a number, as written, and how `got` shows them. */
const NOT_TEXT: [string, string][] = [
  ["null", 'got "null"'],
  ["~", 'got "~"'],
  ["true", 'got "true"'],
  ["false", 'got "false"'],
  ["{}", "got an empty mapping"],
  ["[1]", "got a list"],
];

/** Settings read as sizes, durations and counts: the line written under backend `app`, and what they accept. */
const TYPED: [string, string, string][] = [
  ["backends.app.retry_body_limit", "retry_body_limit: %", 'must be a size like "64KiB" or a number of bytes'],
  ["backends.app.limits.max_head_size", "limits: { max_head_size: % }", 'must be a size like "64KiB" or a number of bytes'],
  ["backends.app.retry_timeout", "retry_timeout: %", 'must be a duration like "5s", "250ms" or "1m30s"'],
  ["backends.app.slow_start", "slow_start: %", 'must be a duration like "5s", "250ms" or "1m30s"'],
  ["backends.app.resolve_interval", "resolve_interval: %", 'must be a duration like "5s", "250ms" or "1m30s"'],
  ["backends.app.timeouts.connect", "timeouts: { connect: % }", 'must be a duration like "5s", "250ms" or "1m30s"'],
  ["backends.app.max_conns", "max_conns: %", "must be an integer from 0 to 1000000"],
  ["backends.app.retries", "retries: %", 'must be "auto" or an integer from 0 to 100'],
];

describe("loadConfig() values of the wrong type", () => {
  for (const [path, line, accepted] of TYPED) {
    for (const [written, got] of NOT_TEXT) {
      const text = line.replace("%", written);
      it(`loadConfig() says what ${path} accepts for ${written}`, () => {
        assert.deepEqual(messagesOf(`${MINIMAL}    ${text}\n`), [`${path}: ${accepted}, ${got}`]);
      });
    }
  }

  it("loadConfig() says what a listener's size, duration and address accept for null", () => {
    assert.deepEqual(
      messagesOf(yaml`
        listeners:
          - listen: null
            backend: app
            limits: { max_body_size: null }
            timeouts: { tunnel_idle: true }
        backends: { app: { servers: [127.0.0.1:9001] } }
      `),
      [
        'listeners[0].listen: must be a host:port address like ":8080", got "null"',
        'listeners[0].limits.max_body_size: must be a size like "64KiB" or a number of bytes, got "null"',
        'listeners[0].timeouts.tunnel_idle: must be a duration like "5s", "250ms" or "1m30s", got "true"',
      ],
    );
  });

  it("loadConfig() says what a server address accepts for null, true and a list", () => {
    const text = MINIMAL.replace("servers: [127.0.0.1:9001]", "servers: [127.0.0.1:9001, null, true, [a]]");
    const accepted = 'must be a host:port address like "127.0.0.1:8080"';
    assert.deepEqual(messagesOf(text), [
      `backends.app.servers[1]: ${accepted}, got "null"`,
      `backends.app.servers[2]: ${accepted}, got "true"`,
      `backends.app.servers[3]: ${accepted}, got a list`,
    ]);
  });

  it("loadConfig() says nothing was given for an empty size, duration or count", () => {
    assert.deepEqual(messagesOf(`${MINIMAL}    retry_body_limit:\n    retry_timeout:\n    max_conns:\n`), [
      'backends.app.retry_body_limit: must be a size like "64KiB" or a number of bytes, got nothing',
      'backends.app.retry_timeout: must be a duration like "5s", "250ms" or "1m30s", got nothing',
      "backends.app.max_conns: must be an integer from 0 to 1000000, got nothing",
    ]);
  });
});

describe("loadConfig() fractions of a millisecond", () => {
  it("loadConfig() gives the range for a duration below the least allowed", () => {
    assert.deepEqual(messagesOf(`${MINIMAL}    retry_timeout: 0.5ms\n    timeouts: { connect: 0.0005s }\n`), [
      'backends.app.retry_timeout: must be from 1ms to 596h, got "0.5ms"',
      'backends.app.timeouts.connect: must be from 1ms to 596h, got "0.0005s"',
    ]);
    assert.deepEqual(messagesOf(`${MINIMAL}    resolve_interval: 999.5ms\n`), [
      'backends.app.resolve_interval: must be from 1s to 596h, got "999.5ms"',
    ]);
  });

  it("loadConfig() says whole milliseconds for a fraction within the range", () => {
    assert.deepEqual(messagesOf(`${MINIMAL}    retry_timeout: 1.5ms\n    slow_start: 0.5ms\n`), [
      'backends.app.retry_timeout: must be a whole number of milliseconds, got "1.5ms"',
      'backends.app.slow_start: must be a whole number of milliseconds, got "0.5ms"',
    ]);
  });

  it("loadConfig() gives the range for a duration too large to be exact", () => {
    assert.deepEqual(messagesOf(`${MINIMAL}    retry_timeout: 9999999999999h\n`), [
      'backends.app.retry_timeout: must be from 1ms to 596h, got "9999999999999h"',
    ]);
  });
});
