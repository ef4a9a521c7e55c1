// Every fixture in invalid/ is one mistake (or, for many-mistakes, several at once) and ends with
// `# expect:` lines: the exact findings, positions included, that the loader must report.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { loadConfig } from "../../src/config/index.ts";

const fixtures = join(import.meta.dirname, "fixtures");
const list = (kind: string) => readdirSync(join(fixtures, kind)).filter((f) => f.endsWith(".yaml"));

function expectations(file: string): string[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.startsWith("# expect: "))
    .map((l) => l.slice("# expect: ".length));
}

describe("valid configs load without findings", () => {
  test.each(list("valid"))("%s", async (name) => {
    const result = await loadConfig(join(fixtures, "valid", name));
    expect(result.findings).toEqual([]);
    expect(result.config?.nodes.length).toBeGreaterThan(0);
  });
});

describe("each invalid config reports its mistake with file, line, column and path", () => {
  test.each(list("invalid"))("%s", async (name) => {
    const file = join(fixtures, "invalid", name);
    const expected = expectations(file);
    expect(expected.length, "fixture declares its expected findings").toBeGreaterThan(0);
    const result = await loadConfig(file);
    expect(result.config).toBeUndefined();
    for (const f of result.findings) expect(f.file).toBe(file);
    const actual = result.findings.map((f) => `${f.line}:${f.col} ${f.path ? `${f.path}: ` : ""}${f.message}`);
    expect(actual).toEqual(expected);
  });

  test("the example config is one of the valid fixtures' sources and stays valid", async () => {
    const result = await loadConfig(join(import.meta.dirname, "..", "..", "..", "..", "ktsw.yaml"));
    expect(result.findings).toEqual([]);
  });

  test("many mistakes are reported in one run", async () => {
    const result = await loadConfig(join(fixtures, "invalid", "many-mistakes.yaml"));
    expect(new Set(result.findings.map((f) => f.rule))).toEqual(
      new Set(["config.address-in-vlan", "config.duplicate-vmid", "config.ebgp-asn"]),
    );
  });

  test("a missing file is a finding, not a stack trace", async () => {
    const result = await loadConfig(join(fixtures, "does-not-exist.yaml"));
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]?.message).toMatch(/file not found/);
  });
});
