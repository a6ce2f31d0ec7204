/**
 * Reading test runners' output into counts, for `tests/run_all.ts`. Kept apart so that
 * `tests/run_all_test.ts` can check the parsing on recorded outputs.
 */

export interface Counts {
  passed: number;
  failed: number;
  skipped: number;
  note?: string;
}


// deno-lint-ignore no-control-regex
export const stripAnsi = (s: string) => s.replace(/\x1b\[[0-9;]*[A-Za-z]/g, "");

/** A stage that is one check: passed if it exited 0. */
export function single(output: string, code: number | null): Counts {
  void output;
  return code === 0 ? { passed: 1, failed: 0, skipped: 0 } : { passed: 0, failed: 1, skipped: 0, note: `exit ${code}` };
}

/** `ok | 3 passed (4 steps) | 0 failed | 1 ignored (22ms)` → test-level counts (describe blocks included). */
export function denoSummary(output: string): (Counts & { steps?: { passed: number; failed: number } }) | null {
  const lines = stripAnsi(output).split("\n").filter((l) => /^(ok|FAILED) \| \d+ passed/.test(l.trim()));
  const line = lines.at(-1);
  if (!line) return null;
  const passed = /(\d+) passed(?: \((\d+) steps?\))?/.exec(line);
  const failed = /(\d+) failed(?: \((\d+) steps?\))?/.exec(line);
  const ignored = /(\d+) ignored/.exec(line);
  return {
    passed: Number(passed?.[1] ?? 0),
    failed: Number(failed?.[1] ?? 0),
    skipped: Number(ignored?.[1] ?? 0),
    steps: { passed: Number(passed?.[2] ?? 0), failed: Number(failed?.[2] ?? 0) },
  };
}

export const unescapeXml = (s: string) =>
  s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, "&");

/** Leaf test cases from Deno's JUnit report: a case is a leaf unless another case is named `it > ...`. */
export function denoJunit(xml: string): Counts | null {
  const cases: { name: string; failed: boolean; skipped: boolean }[] = [];
  const re = /<testcase\s+name="([^"]*)"[^>]*?(\/>|>([\s\S]*?)<\/testcase>)/g;
  for (let m; (m = re.exec(xml));) {
    const body = m[3] ?? "";
    cases.push({ name: unescapeXml(m[1]), failed: /<(failure|error)\b/.test(body), skipped: /<skipped\b/.test(body) });
  }
  if (cases.length === 0) return null;
  const names = cases.map((c) => c.name);
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  for (const c of cases) {
    const isParent = names.some((n) => n.startsWith(`${c.name} > `));
    // A parent counts only when it failed on its own (a hook threw) with no failing child.
    if (isParent) {
      if (c.failed && !cases.some((d) => d.failed && d.name.startsWith(`${c.name} > `))) counts.failed++;
      continue;
    }
    if (c.skipped) counts.skipped++;
    else if (c.failed) counts.failed++;
    else counts.passed++;
  }
  return counts;
}

/** ` 4 pass` / ` 1 skip` / ` 0 fail` / ` 1 error` / `Ran 5 tests across 1 file.` */
export function bunSummary(output: string): Counts | null {
  const text = stripAnsi(output);
  const pass = [...text.matchAll(/^\s*(\d+) pass$/gm)].at(-1);
  const fail = [...text.matchAll(/^\s*(\d+) fail$/gm)].at(-1);
  const skip = [...text.matchAll(/^\s*(\d+) skip$/gm)].at(-1);
  // "Unhandled error between tests" (a throwing hook, a stray rejection): Bun counts it apart.
  const error = [...text.matchAll(/^\s*(\d+) errors?$/gm)].at(-1);
  if (!pass && !fail) return null;
  return {
    passed: Number(pass?.[1] ?? 0),
    failed: Number(fail?.[1] ?? 0) + Number(error?.[1] ?? 0),
    skipped: Number(skip?.[1] ?? 0),
  };
}

/** Applies the rules every runner shares: no summary, no tests, or a silent non-zero exit are failures. */
export function settle(counts: Counts | null, code: number | null, runner: string): Counts {
  if (!counts) return { passed: 0, failed: 1, skipped: 0, note: `no ${runner} summary found (exit ${code})` };
  if (counts.passed + counts.failed === 0) return { ...counts, failed: 1, note: "ran no test" };
  if (code !== 0 && counts.failed === 0) return { ...counts, failed: 1, note: `exit ${code} with no failed test` };
  return counts;
}
