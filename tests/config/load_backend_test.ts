import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type BackendConfig, defaultBackend, type HealthConfig } from "../../lib/config/types.ts";
import { DEFAULT_BACKEND } from "./_defaults.ts";
import { configOf, errorsOf, yaml } from "./_yaml.ts";

/**
 * A config whose backend `app` gets `lines` appended, each indented under it. Line 1 of `lines`
 * is line 7 of the file and its text starts at column 5, so expected positions can be read off.
 */
function withBackend(...lines: string[]): string {
  return yaml`
    listeners:
      - listen: ":8080"
        backend: app
    backends:
      app:
        servers: [127.0.0.1:9001]
  ` + lines.map((line) => `    ${line}\n`).join("");
}

function backendOf(text: string, name = "app"): BackendConfig {
  const backend = configOf(text).backends.get(name);
  assert.ok(backend, `backend "${name}" is missing`);
  return backend;
}

const SERVER = { address: "127.0.0.1:9001", hostname: "127.0.0.1", port: 9001, weight: 1, max_conns: 0 };

const DEFAULT_HEALTH: HealthConfig = {
  type: "http",
  path: "/",
  expect_status: [[200, 399]],
  interval: 5_000,
  timeout: 2_000,
  rise: 2,
  fall: 3,
};

describe("loadConfig() backend defaults", () => {
  it("loadConfig() fills in every balancing default of a backend with only servers", () => {
    const backend = backendOf(withBackend());
    const expected: BackendConfig = { name: "app", servers: [SERVER], ...DEFAULT_BACKEND };
    assert.deepEqual(backend, expected);
    // deepEqual would also pass with `health: undefined`; downstream code tests for the key.
    assert.deepEqual(["health", "sticky", "hash_key"].filter((key) => Object.hasOwn(backend, key)), []);
  });

  it("loadConfig() gives the same backend as defaultBackend()", () => {
    assert.deepEqual(backendOf(withBackend()), defaultBackend("app", [SERVER]));
  });

  it("loadConfig() leaves the resolver unset by default", () => {
    assert.equal(Object.hasOwn(configOf(withBackend()), "resolver"), false);
  });

  it("loadConfig() gives each server the backend's max_conns unless it sets its own", () => {
    const backend = backendOf(yaml`
      listeners:
        - { listen: ":8080", backend: app }
      backends:
        app:
          max_conns: 50
          servers:
            - 127.0.0.1:9001
            - { address: 127.0.0.1:9002, weight: 2 }
            - { address: 127.0.0.1:9003, max_conns: 5 }
            - { address: 127.0.0.1:9004, max_conns: 0 }
    `);
    assert.equal(backend.max_conns, 50);
    assert.deepEqual(backend.servers.map((s) => [s.port, s.weight, s.max_conns]), [
      [9001, 1, 50],
      [9002, 2, 50],
      [9003, 1, 5],
      [9004, 1, 0],
    ]);
  });

  it("loadConfig() fills in every health default for an empty health mapping", () => {
    assert.deepEqual(backendOf(withBackend("health: {}")).health, DEFAULT_HEALTH);
  });

  it("loadConfig() fills in the passive defaults a partial passive mapping leaves out", () => {
    assert.deepEqual(backendOf(withBackend("passive: { max_fails: 3 }")).passive, {
      max_fails: 3,
      fail_timeout: 10_000,
      fail_status: [],
    });
  });
});

describe("loadConfig() backend fields", () => {
  it("loadConfig() reads every balance policy name", () => {
    for (const balance of ["round_robin", "least_conn", "random_two", "ip_hash", "first"]) {
      assert.equal(backendOf(withBackend(`balance: ${balance}`)).balance, balance);
    }
    assert.equal(backendOf(withBackend("balance: hash", "hash_key: path")).balance, "hash");
  });

  it("loadConfig() reads each hash_key form", () => {
    const keyOf = (text: string) => backendOf(withBackend("balance: hash", `hash_key: "${text}"`)).hash_key;
    assert.deepEqual(keyOf("header:X-User"), { from: "header", name: "X-User" });
    assert.deepEqual(keyOf("cookie:session_id"), { from: "cookie", name: "session_id" });
    assert.deepEqual(keyOf("query:user.id"), { from: "query", name: "user.id" });
    assert.deepEqual(keyOf("path"), { from: "path" });
  });

  it("loadConfig() reads sticky: cookie with the default cookie name", () => {
    assert.deepEqual(backendOf(withBackend("sticky: cookie")).sticky, { cookie: "ferry_server" });
  });

  it("loadConfig() reads sticky with a cookie name of its own", () => {
    assert.deepEqual(backendOf(withBackend("sticky: { cookie: SRV-id_1 }")).sticky, { cookie: "SRV-id_1" });
  });

  it("loadConfig() reads retries, retry and queue limits, slow_start and resolve_interval", () => {
    const backend = backendOf(withBackend(
      "retries: 2",
      "retry_timeout: 1m30s",
      "retry_body_limit: 1MiB",
      "max_conns: 100",
      "queue_timeout: 250ms",
      "slow_start: 30s",
      "resolve_interval: 1s",
    ));
    assert.deepEqual(
      [
        backend.retries,
        backend.retry_timeout,
        backend.retry_body_limit,
        backend.max_conns,
        backend.queue_timeout,
        backend.slow_start,
        backend.resolve_interval,
      ],
      [2, 90_000, 1_048_576, 100, 250, 30_000, 1_000],
    );
    assert.equal(backend.servers[0].max_conns, 100);
  });

  it("loadConfig() reads the edge values retries: 0, retry_body_limit: 0 and 16MiB, slow_start: 0s", () => {
    const low = backendOf(withBackend("retries: 0", "retry_body_limit: 0", "slow_start: 0s"));
    assert.deepEqual([low.retries, low.retry_body_limit, low.slow_start], [0, 0, 0]);
    const high = backendOf(withBackend("retries: 100", "retry_body_limit: 16MiB", "max_conns: 1000000"));
    assert.deepEqual([high.retries, high.retry_body_limit, high.max_conns], [100, 16_777_216, 1_000_000]);
  });

  it("loadConfig() reads every key of an http health check", () => {
    const backend = backendOf(withBackend(
      "health:",
      "  type: http",
      "  path: /healthz?full=1",
      "  host: status.example.com",
      '  expect_status: "200-204"',
      "  interval: 10s",
      "  timeout: 500ms",
      "  rise: 1",
      "  fall: 5",
    ));
    assert.deepEqual(backend.health, {
      type: "http",
      path: "/healthz?full=1",
      host: "status.example.com",
      expect_status: [[200, 204]],
      interval: 10_000,
      timeout: 500,
      rise: 1,
      fall: 5,
    });
  });

  it("loadConfig() reads expect_status as a status, a range, a class or a list of those", () => {
    const statusOf = (text: string) => backendOf(withBackend(`health: { expect_status: ${text} }`)).health?.expect_status;
    assert.deepEqual(statusOf("200"), [[200, 200]]);
    assert.deepEqual(statusOf('"200-399"'), [[200, 399]]);
    assert.deepEqual(statusOf('"2xx"'), [[200, 299]]);
    assert.deepEqual(statusOf('["200", "3xx"]'), [[200, 200], [300, 399]]);
    assert.deepEqual(statusOf("[204, 2XX]"), [[204, 204], [200, 299]]);
  });

  it("loadConfig() reads a tcp health check with the http-only keys at their defaults", () => {
    const backend = backendOf(withBackend("health: { type: tcp, interval: 1s, timeout: 1s, rise: 3, fall: 1 }"));
    assert.deepEqual(backend.health, {
      ...DEFAULT_HEALTH,
      type: "tcp",
      interval: 1_000,
      timeout: 1_000,
      rise: 3,
      fall: 1,
    });
  });

  it("loadConfig() reads passive settings and expands fail_status ranges to statuses", () => {
    const backend = backendOf(withBackend("passive: { max_fails: 2, fail_timeout: 30s, fail_status: [500, \"502-504\"] }"));
    assert.deepEqual(backend.passive, { max_fails: 2, fail_timeout: 30_000, fail_status: [500, 502, 503, 504] });
  });

  it("loadConfig() reads max_fails: 0 (passive checks off), alone or with an empty fail_status", () => {
    assert.deepEqual(backendOf(withBackend("passive: { max_fails: 0 }")).passive, { max_fails: 0, fail_timeout: 10_000, fail_status: [] });
    assert.deepEqual(backendOf(withBackend("passive: { max_fails: 0, fail_status: [] }")).passive.fail_status, []);
  });

  it("loadConfig() reads queue_timeout when the backend or any server has max_conns", () => {
    assert.equal(backendOf(withBackend("max_conns: 10", "queue_timeout: 2s")).queue_timeout, 2_000);
    const backend = backendOf(yaml`
      listeners:
        - { listen: ":8080", backend: app }
      backends:
        app:
          queue_timeout: 3s
          servers: [127.0.0.1:9001, { address: 127.0.0.1:9002, max_conns: 4 }]
    `);
    assert.deepEqual([backend.queue_timeout, backend.servers.map((s) => s.max_conns)], [3_000, [0, 4]]);
  });

  it("loadConfig() reads servers given as fully qualified names, final dot and all", () => {
    const backend = backendOf(withBackend().replace("[127.0.0.1:9001]", "[app.test.:19001, localhost.:19002]"));
    assert.deepEqual(backend.servers, [
      { address: "app.test.:19001", hostname: "app.test.", port: 19001, weight: 1, max_conns: 0 },
      { address: "localhost.:19002", hostname: "localhost.", port: 19002, weight: 1, max_conns: 0 },
    ]);
  });

  it("loadConfig() expands a fail_status class to its hundred statuses", () => {
    const { fail_status } = backendOf(withBackend("passive: { max_fails: 1000, fail_status: 5xx }")).passive;
    assert.equal(fail_status.length, 100);
    assert.deepEqual([fail_status[0], fail_status[99]], [500, 599]);
  });

  it("loadConfig() reads a resolver given as IPv4 or bracketed IPv6 with a port", () => {
    assert.deepEqual(configOf(`resolver: 127.0.0.1:5353\n${withBackend()}`).resolver, { hostname: "127.0.0.1", port: 5353 });
    assert.deepEqual(configOf(`resolver: "[::1]:53"\n${withBackend()}`).resolver, { hostname: "::1", port: 53 });
  });

  it("loadConfig() keeps a server given as a DNS name as written, for resolving later", () => {
    assert.deepEqual(backendOf(withBackend("resolve_interval: 5s").replace("127.0.0.1:9001", "app.internal:9001")).servers, [
      { address: "app.internal:9001", hostname: "app.internal", port: 9001, weight: 1, max_conns: 0 },
    ]);
  });
});

/** One case per rule: the lines added to backend `app` and every error they cause, with its position. */
const REJECTIONS: [string, string[], string[]][] = [
  [
    "balance: hash without hash_key",
    ["balance: hash"],
    ['config.yaml:7:14: backends.app.balance: needs hash_key (header:NAME, cookie:NAME, query:NAME or path), got "hash"'],
  ],
  [
    "hash_key with another balance",
    ["balance: least_conn", "hash_key: path"],
    ['config.yaml:8:15: backends.app.hash_key: only applies to balance: hash (balance is least_conn)'],
  ],
  [
    "hash_key without a balance",
    ["hash_key: header:X-User"],
    ['config.yaml:7:15: backends.app.hash_key: only applies to balance: hash (balance is round_robin)'],
  ],
  [
    "hash_key with an unknown source",
    ["balance: hash", "hash_key: body"],
    [
      'config.yaml:8:15: backends.app.hash_key: must be "header:NAME", "cookie:NAME", "query:NAME" or "path", got "body"',
    ],
  ],
  [
    "hash_key header name with a space",
    ["balance: hash", 'hash_key: "header:X User"'],
    [
      'config.yaml:8:15: backends.app.hash_key: must be "header:NAME", "cookie:NAME", "query:NAME" or "path", got "header:X User"',
    ],
  ],
  [
    "hash_key query name with a delimiter",
    ["balance: hash", "hash_key: query:a=b"],
    [
      'config.yaml:8:15: backends.app.hash_key: must be "header:NAME", "cookie:NAME", "query:NAME" or "path", got "query:a=b"',
    ],
  ],
  [
    "sticky: yes",
    ["sticky: yes"],
    ['config.yaml:7:13: backends.app.sticky: must be "cookie" or { cookie: NAME }, got "yes"'],
  ],
  [
    "sticky cookie name with a space",
    ['sticky: { cookie: "my cookie" }'],
    [
      "config.yaml:7:23: backends.app.sticky.cookie: must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), got \"my cookie\"",
    ],
  ],
  [
    "sticky mapping without cookie",
    ["sticky: {}"],
    ["config.yaml:7:13: backends.app.sticky.cookie: required key is missing"],
  ],
  [
    "retries: -1",
    ["retries: -1"],
    ['config.yaml:7:14: backends.app.retries: must be an integer from 0 to 100, got "-1"'],
  ],
  [
    "retries: 101",
    ["retries: 101"],
    ['config.yaml:7:14: backends.app.retries: must be an integer from 0 to 100, got "101"'],
  ],
  [
    'retries: "x"',
    ['retries: "x"'],
    ['config.yaml:7:14: backends.app.retries: must be "auto" or an integer from 0 to 100, got "x"'],
  ],
  [
    "retry_body_limit over 16MiB",
    ["retry_body_limit: 16777217"],
    ['config.yaml:7:23: backends.app.retry_body_limit: must be from 0 to 16MiB, got "16777217"'],
  ],
  [
    "retry_body_limit with a unit over 16MiB",
    ["retry_body_limit: 17MiB"],
    ['config.yaml:7:23: backends.app.retry_body_limit: must be from 0 to 16MiB, got "17MiB"'],
  ],
  [
    "max_conns over a million",
    ["max_conns: 1000001"],
    ['config.yaml:7:16: backends.app.max_conns: must be an integer from 0 to 1000000, got "1000001"'],
  ],
  [
    "slow_start without a unit",
    ["slow_start: 5"],
    ['config.yaml:7:17: backends.app.slow_start: needs a unit, like "5s" or "5ms", got "5"'],
  ],
  [
    "resolve_interval under 1s",
    ["resolve_interval: 500ms"],
    ['config.yaml:7:23: backends.app.resolve_interval: must be from 1s to 596h, got "500ms"'],
  ],
  [
    "queue_timeout: 0s",
    ["queue_timeout: 0s"],
    ['config.yaml:7:20: backends.app.queue_timeout: must be from 1ms to 596h, got "0s"'],
  ],
  [
    "queue_timeout: 0 (a bare zero where zero is not allowed)",
    ["max_conns: 5", "queue_timeout: 0"],
    ['config.yaml:8:20: backends.app.queue_timeout: must be from 1ms to 596h, got "0"'],
  ],
  [
    "queue_timeout without max_conns",
    ["queue_timeout: 5s"],
    ["config.yaml:7:20: backends.app.queue_timeout: has no effect without max_conns"],
  ],
  [
    "queue_timeout and an invalid max_conns, which is reported alone",
    ["max_conns: many", "queue_timeout: 5s"],
    ['config.yaml:7:16: backends.app.max_conns: must be an integer from 0 to 1000000, got "many"'],
  ],
  [
    "resolve_interval: 0",
    ["resolve_interval: 0"],
    ['config.yaml:7:23: backends.app.resolve_interval: must be from 1s to 596h, got "0"'],
  ],
  [
    "fail_status with max_fails: 0",
    ["passive: { max_fails: 0, fail_status: [502] }"],
    ["config.yaml:7:43: backends.app.passive.fail_status: has no effect with max_fails: 0"],
  ],
  [
    "fail_timeout with max_fails: 0",
    ["passive:", "  max_fails: 0", "  fail_timeout: 30s"],
    ["config.yaml:9:21: backends.app.passive.fail_timeout: has no effect with max_fails: 0"],
  ],
  [
    "expect_status with a list in the list",
    ["health: { expect_status: [200, [204]] }"],
    [
      'config.yaml:7:36: backends.app.health.expect_status[1]: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got a list',
    ],
  ],
  [
    "expect_status: true",
    ["health: { expect_status: true }"],
    ['config.yaml:7:30: backends.app.health.expect_status: must be a status, a range, a class or a list of those, got "true"'],
  ],
  [
    "expect_status with nothing",
    ["health: { expect_status: }"],
    ["config.yaml:7:30: backends.app.health.expect_status: must be a status, a range, a class or a list of those, got nothing"],
  ],
  [
    "expect_status numbers not written in digits",
    ["health: { expect_status: [2e2, 0x12c, 0200, 200.0] }"],
    [
      'config.yaml:7:31: backends.app.health.expect_status[0]: must be a whole number written in digits, like 200, got "2e2"',
      'config.yaml:7:36: backends.app.health.expect_status[1]: must be a whole number written in digits, like 200, got "0x12c"',
      'config.yaml:7:43: backends.app.health.expect_status[2]: must be a whole number written in digits, like 200, got "0200"',
      'config.yaml:7:49: backends.app.health.expect_status[3]: must be a whole number written in digits, like 200, got "200.0"',
    ],
  ],
  [
    "a fail_status number not written in digits",
    ["passive: { fail_status: +502 }"],
    ['config.yaml:7:29: backends.app.passive.fail_status: must be a whole number written in digits, like 200, got "+502"'],
  ],
  [
    "retry_body_limit written in hex",
    ["retry_body_limit: 0x10000"],
    [
      'config.yaml:7:23: backends.app.retry_body_limit: must be a whole number of bytes written in digits, like 512, or a size like "64KiB", got "0x10000"',
    ],
  ],
  [
    "health.type: udp",
    ["health: { type: udp }"],
    ['config.yaml:7:21: backends.app.health.type: must be one of: http, tcp, got "udp"'],
  ],
  [
    'health.path without a leading "/"',
    ["health: { path: healthz }"],
    [
      'config.yaml:7:21: backends.app.health.path: must start with "/" and contain no spaces or control characters, got "healthz"',
    ],
  ],
  [
    "health.host with a space",
    ['health: { host: "a b" }'],
    ['config.yaml:7:21: backends.app.health.host: must be a host name without spaces, got "a b"'],
  ],
  [
    "path, host and expect_status with type: tcp",
    ["health: { type: tcp, path: /x, host: a.test, expect_status: 200 }"],
    [
      "config.yaml:7:32: backends.app.health.path: only applies to type: http",
      "config.yaml:7:42: backends.app.health.host: only applies to type: http",
      "config.yaml:7:65: backends.app.health.expect_status: only applies to type: http",
    ],
  ],
  [
    "expect_status: 600",
    ["health: { expect_status: 600 }"],
    [
      'config.yaml:7:30: backends.app.health.expect_status: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "600"',
    ],
  ],
  [
    'expect_status: "2-3"',
    ['health: { expect_status: "2-3" }'],
    [
      'config.yaml:7:30: backends.app.health.expect_status: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "2-3"',
    ],
  ],
  [
    'expect_status: "6xx"',
    ['health: { expect_status: "6xx" }'],
    [
      'config.yaml:7:30: backends.app.health.expect_status: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "6xx"',
    ],
  ],
  [
    "expect_status range written high to low",
    ['health: { expect_status: "399-200" }'],
    [
      'config.yaml:7:30: backends.app.health.expect_status: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "399-200"',
    ],
  ],
  [
    "expect_status: []",
    ["health: { expect_status: [] }"],
    ["config.yaml:7:30: backends.app.health.expect_status: must list at least one status, got an empty list"],
  ],
  [
    "a bad item in an expect_status list",
    ['health: { expect_status: [200, "3x"] }'],
    [
      'config.yaml:7:36: backends.app.health.expect_status[1]: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "3x"',
    ],
  ],
  [
    "rise: 0",
    ["health: { rise: 0 }"],
    ['config.yaml:7:21: backends.app.health.rise: must be an integer from 1 to 100, got "0"'],
  ],
  [
    "fall: 101",
    ["health: { fall: 101 }"],
    ['config.yaml:7:21: backends.app.health.fall: must be an integer from 1 to 100, got "101"'],
  ],
  [
    "health with nothing",
    ["health:"],
    ["config.yaml:7:12: backends.app.health: must be a mapping, got nothing"],
  ],
  [
    "passive.max_fails: -1",
    ["passive: { max_fails: -1 }"],
    ['config.yaml:7:27: backends.app.passive.max_fails: must be an integer from 0 to 1000, got "-1"'],
  ],
  [
    "fail_status: [99]",
    ["passive: { fail_status: [99] }"],
    [
      'config.yaml:7:30: backends.app.passive.fail_status[0]: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "99"',
    ],
  ],
  [
    "an unknown key inside health",
    ["health: { kind: http }"],
    [
      "config.yaml:7:15: backends.app.health.kind: unknown key, expected one of: type, path, host, expect_status, interval, timeout, rise, fall",
    ],
  ],
  [
    "an unknown key inside passive",
    ["passive: { fails: 1 }"],
    ["config.yaml:7:16: backends.app.passive.fails: unknown key, expected one of: max_fails, fail_timeout, fail_status"],
  ],
  [
    "an unknown key inside sticky",
    ["sticky: { cookie: sid, path: / }"],
    ["config.yaml:7:28: backends.app.sticky.path: unknown key, expected one of: cookie"],
  ],
];

describe("loadConfig() backend errors", () => {
  for (const [name, lines, expected] of REJECTIONS) {
    it(`loadConfig() rejects ${name}`, () => {
      assert.deepEqual(errorsOf(withBackend(...lines)), expected);
    });
  }

  it("loadConfig() rejects an unknown key inside a server entry", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - { listen: ":8080", backend: app }
        backends:
          app:
            servers:
              - { address: 127.0.0.1:9001, max_con: 3 }
      `),
      ["config.yaml:6:36: backends.app.servers[0].max_con: unknown key, expected one of: address, weight, max_conns"],
    );
  });

  it("loadConfig() rejects a server max_conns out of range", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - { listen: ":8080", backend: app }
        backends:
          app:
            servers:
              - { address: 127.0.0.1:9001, max_conns: -1 }
      `),
      ['config.yaml:6:47: backends.app.servers[0].max_conns: must be an integer from 0 to 1000000, got "-1"'],
    );
  });

  it("loadConfig() rejects a resolver given by name", () => {
    assert.deepEqual(errorsOf(`resolver: "dns.example:53"\n${withBackend()}`), [
      'config.yaml:1:11: resolver: must be an IP address and port, like "127.0.0.1:53", got "dns.example:53"',
    ]);
  });

  it("loadConfig() rejects a resolver with a space before or after it", () => {
    assert.deepEqual(errorsOf(`resolver: "127.0.0.1:53 "\n${withBackend()}`), [
      'config.yaml:1:11: resolver: must not contain spaces or control characters, got "127.0.0.1:53 "',
    ]);
    assert.deepEqual(errorsOf(`resolver: " [::1]:53"\n${withBackend()}`), [
      'config.yaml:1:11: resolver: must not contain spaces or control characters, got " [::1]:53"',
    ]);
  });

  it("loadConfig() rejects a resolver at an unspecified or malformed IPv4 address", () => {
    assert.deepEqual(errorsOf(`resolver: 0.0.0.0:53\n${withBackend()}`), [
      'config.yaml:1:11: resolver: must name a server, not the unspecified address "0.0.0.0" (listen only), like "127.0.0.1:8080", got "0.0.0.0:53"',
    ]);
    assert.deepEqual(errorsOf(`resolver: 10.0.0.300:53\n${withBackend()}`), [
      'config.yaml:1:11: resolver: has an invalid IPv4 address (four numbers from 0 to 255, without leading zeros), got "10.0.0.300:53"',
    ]);
  });

  it("loadConfig() rejects queue_timeout when every server's own max_conns: 0 overrides the backend's", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - { listen: ":8080", backend: app }
        backends:
          app:
            max_conns: 5
            queue_timeout: 5s
            servers: [{ address: 127.0.0.1:9001, max_conns: 0 }]
      `),
      ["config.yaml:6:20: backends.app.queue_timeout: has no effect without max_conns"],
    );
  });

  it("loadConfig() does not judge queue_timeout beside a server it could not read", () => {
    assert.deepEqual(
      errorsOf(yaml`
        listeners:
          - { listen: ":8080", backend: app }
        backends:
          app:
            queue_timeout: 5s
            servers: [127.0.0.1:9001, { address: "bad host:1", max_conns: 3 }]
      `),
      ['config.yaml:6:42: backends.app.servers[1].address: must not contain spaces or control characters, got "bad host:1"'],
    );
  });

  it("loadConfig() rejects a resolver without a port", () => {
    assert.deepEqual(errorsOf(`resolver: 127.0.0.1\n${withBackend()}`), [
      'config.yaml:1:11: resolver: needs a port, like "127.0.0.1:8080", got "127.0.0.1"',
    ]);
  });

  it("loadConfig() lists several backend errors at once, in reading order", () => {
    // resolver is read after backends; it must still come first, where it was written.
    assert.deepEqual(
      errorsOf(yaml`
        resolver: ns.example:53
        listeners:
          - { listen: ":8080", backend: app }
        backends:
          app:
            balance: hash
            hash_key: header:X-User
            sticky: { cookie: "a b" }
            retries: -1
            health:
              type: tcp
              path: /health
              rise: 0
            passive:
              fail_status: [99, 502]
            servers:
              - { address: 127.0.0.1:9001, wieght: 2 }
          api:
            balance: first
            hash_key: path
            servers: [127.0.0.1:9002]
      `),
      [
        'config.yaml:1:11: resolver: must be an IP address and port, like "127.0.0.1:53", got "ns.example:53"',
        "config.yaml:8:23: backends.app.sticky.cookie: must be a cookie name (letters, digits and !#$%&'*+-.^_`|~), got \"a b\"",
        'config.yaml:9:14: backends.app.retries: must be an integer from 0 to 100, got "-1"',
        "config.yaml:12:13: backends.app.health.path: only applies to type: http",
        'config.yaml:13:13: backends.app.health.rise: must be an integer from 1 to 100, got "0"',
        'config.yaml:15:21: backends.app.passive.fail_status[0]: must be a status (100 to 599), a range like "200-399" or a class like "2xx", got "99"',
        "config.yaml:17:36: backends.app.servers[0].wieght: unknown key, expected one of: address, weight, max_conns",
        'config.yaml:20:15: backends.api.hash_key: only applies to balance: hash (balance is first)',
      ],
    );
  });
});

describe("loadConfig() backend values written the short way", () => {
  it("loadConfig() takes retries: auto, slow_start: 0 and an empty fail_status as the defaults", () => {
    const b = backendOf(withBackend("retries: auto", "slow_start: 0", "passive: { fail_status: [] }"));
    assert.equal(b.retries, "auto");
    assert.equal(b.slow_start, 0);
    assert.deepEqual(b.passive.fail_status, []);
  });

  it("loadConfig() lists each fail_status once, in order", () => {
    const b = backendOf(withBackend('passive: { fail_status: ["5xx", 502, 404] }'));
    assert.equal(b.passive.fail_status.length, 101);
    assert.equal(b.passive.fail_status[0], 404);
    assert.equal(b.passive.fail_status.filter((s) => s === 502).length, 1);
  });

  it("loadConfig() rejects a sticky cookie name over 64 characters with its own message", () => {
    const long = "c".repeat(65);
    assert.deepEqual(errorsOf(withBackend(`sticky: { cookie: ${long} }`)), [
      `config.yaml:7:23: backends.app.sticky.cookie: must be at most 64 characters, got "${"c".repeat(60)}…"`,
    ]);
  });
});

/**
 * Backend `db` with `lines` appended, used by `listeners` (two lines of listener entries, so
 * line 1 of `lines` is line 7 of the file and its text starts at column 5).
 */
function usedBy(listeners: [string, string], ...lines: string[]): string {
  const text = [
    "listeners:",
    ...listeners.map((entry) => `  - ${entry}`),
    "backends:",
    "  db:",
    "    servers: [127.0.0.1:5432]",
    ...lines.map((line) => `    ${line}`),
  ];
  return text.join("\n") + "\n";
}

const TCP_ONLY: [string, string] = ['{ listen: ":5432", mode: tcp, backend: db }', '{ listen: ":5433", mode: tcp, backend: db }'];

describe("loadConfig() settings that need HTTP on a backend only tcp listeners use", () => {
  it("loadConfig() rejects sticky on a backend used only by tcp listeners, at its value", () => {
    assert.deepEqual(errorsOf(usedBy(TCP_ONLY, "sticky: cookie")), [
      'config.yaml:7:13: backends.db.sticky: has no effect: backend "db" is used only by tcp listeners (cookies need HTTP)',
    ]);
    assert.deepEqual(errorsOf(usedBy(TCP_ONLY, "sticky: { cookie: SRV }")), [
      'config.yaml:7:13: backends.db.sticky: has no effect: backend "db" is used only by tcp listeners (cookies need HTTP)',
    ]);
  });

  for (const key of ["header:X-User", "cookie:sid", "query:sid", "path"]) {
    it(`loadConfig() rejects balance: hash with hash_key: ${key} on a backend used only by tcp listeners`, () => {
      assert.deepEqual(errorsOf(usedBy(TCP_ONLY, "balance: hash", `hash_key: ${key}`)), [
        'config.yaml:8:15: backends.db.hash_key: has no effect: backend "db" is used only by tcp listeners ' +
        "(TCP has no request to take the key from, use balance: ip_hash)",
      ]);
    });
  }

  it("loadConfig() reports both settings of one backend, in reading order", () => {
    const errors = errorsOf(usedBy(TCP_ONLY, "sticky: cookie", "balance: hash", "hash_key: path"));
    assert.deepEqual(errors.map((error) => error.split(": ")[1]), ["backends.db.sticky", "backends.db.hash_key"]);
  });

  it("loadConfig() accepts balance: ip_hash on a backend used only by tcp listeners", () => {
    assert.equal(backendOf(usedBy(TCP_ONLY, "balance: ip_hash"), "db").balance, "ip_hash");
  });

  it("loadConfig() accepts sticky and hash_key on a backend used by an http and a tcp listener", () => {
    const both: [string, string] = ['{ listen: ":5432", mode: tcp, backend: db }', '{ listen: ":8080", backend: db }'];
    assert.deepEqual(backendOf(usedBy(both, "sticky: cookie"), "db").sticky, { cookie: "ferry_server" });
    assert.deepEqual(backendOf(usedBy(both, "balance: hash", "hash_key: path"), "db").hash_key, { from: "path" });
  });

  it("loadConfig() accepts sticky on a backend a tcp listener and an http route use", () => {
    const viaRoute: [string, string] = [
      '{ listen: ":5432", mode: tcp, backend: db }',
      '{ listen: ":8080", routes: [{ path: /db, backend: db }] }',
    ];
    assert.deepEqual(backendOf(usedBy(viaRoute, "sticky: cookie"), "db").sticky, { cookie: "ferry_server" });
  });

  it("loadConfig() leaves sticky alone on a backend no listener uses", () => {
    const unused: [string, string] = ['{ listen: ":8080", routes: [{ respond: "ok" }] }', '{ listen: ":8081", routes: [{ respond: "ok" }] }'];
    assert.deepEqual(backendOf(usedBy(unused, "sticky: cookie"), "db").sticky, { cookie: "ferry_server" });
  });
});
