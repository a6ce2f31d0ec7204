import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { formatConfigError } from "../../lib/config/config_error.ts";
import { loadConfigFile } from "../../lib/config/load_config.ts";
import { readConfigFile } from "../../lib/config/read_config_file.ts";

describe("readConfigFile()", () => {
  let dir = "";
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "ferry-config-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("readConfigFile() returns the text of a file", async () => {
    const path = join(dir, "ok.yaml");
    await writeFile(path, "log: {}\n");
    assert.deepEqual(await readConfigFile(path), { text: "log: {}\n" });
  });

  it("readConfigFile() reports a missing file without a position", async () => {
    const path = join(dir, "missing.yaml");
    const result = await readConfigFile(path);
    assert.ok("errors" in result);
    assert.deepEqual(result.errors, [
      { file: path, line: 0, col: 0, path: "", message: `cannot read config "${path}": no such file` },
    ]);
    assert.equal(formatConfigError(result.errors[0]), `cannot read config "${path}": no such file`);
  });

  it("readConfigFile() reports a directory", async () => {
    const result = await readConfigFile(dir);
    assert.ok("errors" in result);
    assert.equal(result.errors[0].message, `cannot read config "${dir}": is a directory`);
  });

  it("loadConfigFile() labels errors with the path it was given", async () => {
    const path = join(dir, "bad.yaml");
    await writeFile(path, "listeners: []\n");
    const result = await loadConfigFile(path);
    assert.ok("errors" in result);
    assert.deepEqual(result.errors.map(formatConfigError), [
      `${path}:1:12: listeners: must list at least one listener, got an empty list`,
    ]);
  });

  it("loadConfigFile() loads a valid file", async () => {
    const path = join(dir, "good.yaml");
    await writeFile(path, 'listeners: [{ listen: ":8080", routes: [{ respond: "ok" }] }]\n');
    const result = await loadConfigFile(path);
    assert.ok("config" in result);
    assert.equal(result.config.source, path);
  });
});
