// checkPolicies end to end with the real gator: a deliberately bad Deployment is denied by each
// relevant policy with a message saying what to fix, at the right line; a good app passes clean.
import { appendFileSync, cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterEach, beforeAll, beforeEach, describe, expect, test } from "vitest";
import type { Finding } from "../../src/diagnostics.ts";
import { checkPolicies, offlinePolicies, pathInMessage, severityOf } from "../../src/policy/check.ts";
import { policyInputsFromFiles } from "../../src/policy/inputs.ts";
import { GATEKEEPER_DIR, readPolicySources, usesExternalData } from "../../src/policy/templates.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { fixturesDir, repoRoot } from "./paths.ts";

const gator = findTool("gator");
if (!gator) console.warn(`SKIPPING checkPolicies tests: ${missingToolMessage("gator")}`);

// A fixed site so the test does not depend on whichever cluster settings are rendered.
const siteVars = { SITE_DOMAIN: "home.example" };

/** `${NAME}` written without a template-looking string literal. */
const fluxVar = (name: string) => ["$", "{", name, "}"].join("");

function fixture(name: string) {
  const abs = join(fixturesDir, name);
  return { abs, rel: relative(repoRoot, abs), text: readFileSync(abs, "utf8") };
}

/** 1-based line of the first line in `text` containing `needle`. */
function lineOf(text: string, needle: string): number {
  return text.split("\n").findIndex((l) => l.includes(needle)) + 1;
}

async function check(...names: string[]): Promise<Finding[]> {
  // Findings name files relative to the repository, as `ktsw validate` reports them.
  const inputs = policyInputsFromFiles(names.map((n) => join(fixturesDir, n))).map((i) => ({
    ...i,
    file: relative(repoRoot, i.file),
  }));
  return checkPolicies(inputs, { root: repoRoot, siteVars });
}

describe.skipIf(!gator)("checkPolicies on a bad Deployment", () => {
  const bad = fixture("bad-deployment.yaml");
  let findings: Finding[] = [];
  beforeAll(async () => {
    findings = await check("bad-deployment.yaml");
  });

  const byRule = (rule: string) => findings.filter((f) => f.rule === rule);

  test.each([
    [
      "policy.no-root-containers",
      'container "app" (spec.template.spec.containers[0]): securityContext.runAsUser is 0 (root)',
    ],
    ["policy.no-root-containers", "set securityContext.allowPrivilegeEscalation: false"],
    ["policy.container-resources", 'container "app" (spec.template.spec.containers[0]): set resources.limits.memory'],
    [
      "policy.image-provenance",
      'image "docker.io/library/nginx:latest" is not from an allowed registry; use one of ["harbor.home.example/"]',
    ],
    ["policy.image-provenance", "uses the mutable tag latest"],
    ["policy.application-probes", "add a readinessProbe"],
    ["policy.application-probes", "add a livenessProbe"],
    [
      "policy.host-isolation",
      'spec.template.spec.volumes[0] ("docker-socket"): hostPath "/var/run/docker.sock" is not allowed',
    ],
    ["policy.app-labels", 'metadata.labels: add label "app.kubernetes.io/name"'],
    ["policy.app-labels", 'spec.template.metadata.labels: add label "app.kubernetes.io/part-of"'],
  ])("%s denies it: %s", (rule, text) => {
    // Whole words only: `metadata.labels` must not match `spec.template.metadata.labels`.
    const hits = byRule(rule).filter((f) => f.message.startsWith(text) || f.message.includes(` ${text}`));
    expect(hits.length).toBe(1);
    expect(hits[0]).toMatchObject({ file: bad.rel, severity: "error", path: "Deployment shop/web" });
  });

  test("container findings point at the container, volume findings at the volume", () => {
    const container = lineOf(bad.text, "- name: app");
    for (const f of findings.filter((f) => f.message.includes('container "app"'))) expect(f.line).toBe(container);
    expect(byRule("policy.host-isolation")[0]?.line).toBe(lineOf(bad.text, "- name: docker-socket"));
  });

  test("every finding comes from one of the six workload policies", () => {
    const rules = new Set(findings.map((f) => f.rule));
    expect([...rules].sort()).toEqual(
      [
        "policy.app-labels",
        "policy.application-probes",
        "policy.container-resources",
        "policy.host-isolation",
        "policy.image-provenance",
        "policy.no-root-containers",
      ].sort(),
    );
  });
});

describe.skipIf(!gator)("checkPolicies on compliant and referential inputs", () => {
  test("a good app (namespace, default-deny policy, Deployment) has zero violations", async () => {
    expect(await check("good-app.yaml")).toEqual([]);
  });

  test("a namespace without mesh annotation or default deny is denied (NetworkPolicies come from the inputs)", async () => {
    const findings = await check("bad-namespace.yaml");
    const ns = fixture("bad-namespace.yaml");
    expect(findings.map((f) => f.message).sort()).toEqual([
      'namespace "blog": add a default-deny NetworkPolicy in it (spec.podSelector: {}, spec.policyTypes: ["Ingress", "Egress"], no rules); missing default deny for ["Egress", "Ingress"] [K8sNamespaceIsolation application-namespace-isolation]',
      'namespace "blog": set metadata.annotations["linkerd.io/inject"] to "enabled" [K8sNamespaceIsolation application-namespace-isolation]',
    ]);
    // Scoped constraint: warn at admission, but deny in gator, so validate reports errors.
    for (const f of findings)
      expect(f).toMatchObject({ file: ns.rel, severity: "error", rule: "policy.application-namespace-isolation" });
  });

  test("the good app's default deny does not leak to another namespace checked in the same run", async () => {
    const findings = await check("good-app.yaml", "bad-namespace.yaml");
    expect(new Set(findings.map((f) => f.file))).toEqual(new Set([fixture("bad-namespace.yaml").rel]));
  });

  test("the repository's own templates, constraints and deliberately bad suite samples are not reviewed", async () => {
    const gatekeeper = join(repoRoot, "kubernetes/platform/gatekeeper");
    const files = readPolicySources(repoRoot).flatMap((p) => [
      p.templateFile,
      join(gatekeeper, "constraints", `${p.name}.yaml`),
      // a policy that asks a provider has no gator suite (gator cannot compile it)
      ...(usesExternalData(p.rego) ? [] : [join(gatekeeper, "policies", p.name, "suite.yaml")]),
    ]);
    const samples = join(gatekeeper, "policies/k8shostisolation/samples/disallowed-host-path.yaml");
    const inputs = policyInputsFromFiles([...files, samples]).map((i) => ({ ...i, file: relative(repoRoot, i.file) }));
    expect(await checkPolicies(inputs, { root: repoRoot, siteVars })).toEqual([]);
  });

  test("an unresolved site variable is reported, not silently left in the registry", async () => {
    const inputs = policyInputsFromFiles([fixture("good-app.yaml").abs]);
    const findings = await checkPolicies(inputs, { root: repoRoot, siteVars: {} });
    expect(findings).toEqual([
      expect.objectContaining({
        rule: "policy.site-settings",
        file: "kubernetes/platform/gatekeeper/constraints/k8simageprovenance.yaml",
        message: expect.stringContaining(fluxVar("SITE_DOMAIN")),
      }),
    ]);
  });
});

describe("pure helpers", () => {
  test("pathInMessage reads the leading or parenthesised field path", () => {
    expect(pathInMessage('container "a" (spec.template.spec.containers[2]): set x')).toEqual([
      "spec",
      "template",
      "spec",
      "containers",
      2,
    ]);
    expect(pathInMessage("spec.hostPID: must be false")).toEqual(["spec", "hostPID"]);
    expect(pathInMessage('namespace "x": add a default-deny NetworkPolicy (spec.podSelector: {})')).toBeUndefined();
  });

  test("severityOf honours scoped enforcement for the gator point", () => {
    const scoped = (action: string, point: string) => ({
      msg: "m",
      enforcementAction: "scoped",
      constraint: { spec: { scopedEnforcementActions: [{ action, enforcementPoints: [{ name: point }] }] } },
    });
    expect(severityOf({ msg: "m", enforcementAction: "deny" })).toBe("error");
    expect(severityOf({ msg: "m", enforcementAction: "warn" })).toBe("warning");
    expect(severityOf(scoped("deny", "gator.gatekeeper.sh"))).toBe("error");
    expect(severityOf(scoped("warn", "gator.gatekeeper.sh"))).toBe("warning");
    expect(severityOf(scoped("deny", "*"))).toBe("error");
  });
});

describe("policies gator cannot run", () => {
  const source = (sub: "templates" | "constraints", text: string) => ({ sub, name: "x.yaml", text });
  const template = (kind: string, rego: string) =>
    source(
      "templates",
      `kind: ConstraintTemplate\nspec:\n  crd:\n    spec:\n      names:\n        kind: ${kind}\n  targets:\n    - rego: |\n        ${rego}\n`,
    );
  const constraint = (kind: string) => source("constraints", `kind: ${kind}\nmetadata:\n  name: c\n`);

  test("a template that calls external data is left out with its constraints; the others stay", () => {
    const kept = offlinePolicies([
      template("K8sSigned", 'x := external_data({"provider": "p", "keys": []})'),
      template("K8sOther", "violation contains {} if false"),
      constraint("K8sSigned"),
      constraint("K8sOther"),
    ]);
    expect(kept.map((s) => `${s.sub}:${s.text.match(/kind: (K8s\w+)/)?.[1]}`)).toEqual([
      "templates:K8sOther",
      "constraints:K8sOther",
    ]);
  });

  test("the tree's signed-images policy is the one left out", async () => {
    const gatekeeper = join(repoRoot, "kubernetes/platform/gatekeeper");
    const read = (sub: "templates" | "constraints") =>
      readdirSync(join(gatekeeper, sub))
        .filter((f) => f !== "kustomization.yaml")
        .map((f) => ({ sub, name: f, text: readFileSync(join(gatekeeper, sub, f), "utf8") }));
    const all = [...read("templates"), ...read("constraints")];
    const left = all.filter((s) => !offlinePolicies(all).includes(s)).map((s) => `${s.sub}/${s.name}`);
    expect(left).toEqual(["templates/k8ssignedimages.yaml", "constraints/k8ssignedimages.yaml"]);
  });
});

describe.skipIf(!gator)("gator's results kept between runs", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ktsw-policy-cache-"));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  /** A gator that counts its runs, then runs the real one; the bad Deployment as input. */
  function countingSetup() {
    const calls = join(dir, "calls");
    const counting = join(dir, "gator");
    writeFileSync(counting, `#!/bin/sh\necho run >> "${calls}"\nexec "${gator}" "$@"\n`, { mode: 0o755 });
    const inputs = policyInputsFromFiles([join(fixturesDir, "bad-deployment.yaml")]).map((i) => ({
      ...i,
      file: relative(repoRoot, i.file),
    }));
    const runs = () => readFileSync(calls, "utf8").trim().split("\n").length;
    return { counting, inputs, runs };
  }

  test("the same policies and objects are not evaluated again; the findings are the same", async () => {
    const { counting, inputs, runs } = countingSetup();
    const opts = { root: repoRoot, siteVars, gator: counting, cacheDir: join(dir, "cache") };
    const first = await checkPolicies(inputs, opts);
    const second = await checkPolicies(inputs, opts);
    expect(first.length).toBeGreaterThan(0);
    expect(second).toEqual(first);
    expect(runs()).toBe(1);
    await checkPolicies(inputs, { ...opts, siteVars: { SITE_DOMAIN: "other.example" } });
    expect(runs()).toBe(2);
  });

  test("an edit to a template or constraint file evaluates again", async () => {
    const { counting, inputs, runs } = countingSetup();
    // A repository of its own holding a copy of the policies, so they can be edited.
    const root = join(dir, "repo");
    for (const sub of ["templates", "constraints"])
      cpSync(join(repoRoot, GATEKEEPER_DIR, sub), join(root, GATEKEEPER_DIR, sub), { recursive: true });
    const opts = { root, siteVars, gator: counting, cacheDir: join(dir, "cache") };
    const first = await checkPolicies(inputs, opts);
    await checkPolicies(inputs, opts);
    expect(runs()).toBe(1);
    appendFileSync(join(root, GATEKEEPER_DIR, "constraints", "k8srequiredlabels.yaml"), "# edited\n");
    expect(await checkPolicies(inputs, opts)).toEqual(first);
    expect(runs()).toBe(2);
    appendFileSync(join(root, GATEKEEPER_DIR, "templates", "k8srequiredlabels.yaml"), "# edited\n");
    await checkPolicies(inputs, opts);
    expect(runs()).toBe(3);
  });
});
