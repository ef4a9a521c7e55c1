// The capacity plan as a person meets it: `ktsw plan` prints it for the real site, and `ktsw validate`
// fails on a copy of the site that no longer fits or has a container without requests. Copies sit
// in a temp folder without the chart cache beside them, so only their plain manifests are placed.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, test } from "vitest";
import { buildFlags, runKtsw, schemaFlags, siteCopy } from "../support/cli.ts";

const copies: (() => void)[] = [];
afterEach(() => {
  for (const remove of copies.splice(0)) remove();
});

function copyWith(file: string, from: string, to: string): string {
  const site = siteCopy();
  copies.push(site.remove);
  const text = readFileSync(join(site.root, file), "utf8");
  expect(text, `${file} contains ${from}`).toContain(from);
  writeFileSync(join(site.root, file), text.replace(from, to));
  return site.config;
}

const lineOf = (file: string, text: string) =>
  readFileSync(join(import.meta.dirname, "../../../..", file), "utf8")
    .split("\n")
    .indexOf(text) + 1;

/** Rendering every chart of the real tree takes a while on a busy machine. */
const slow = 240_000;

describe("ktsw plan: capacity", () => {
  test(
    "the example site fits: a row per node and per layer, and every pod has a node",
    async () => {
      const r = await runKtsw(["plan", ...buildFlags()]);
      expect(r.code, r.stderr).toBe(0);
      const capacity = r.stdout.slice(r.stdout.indexOf("## Capacity"));
      // Allocatable: the VM's cores and memory and the kubelet's 110 pods.
      expect(capacity).toMatch(
        /\| cp-1 \| control-plane \| \d+ \/ 110 \| [^|]+ \/ 4 \(\d+%\) \| [^|]+ \/ 8Gi \(\d+%\) \|/,
      );
      expect(capacity).toMatch(
        /\| worker-2 \| worker \| \d+ \/ 110 \| [^|]+ \/ 6 \(\d+%\) \| [^|]+ \/ 16Gi \(\d+%\) \|/,
      );
      expect(capacity).toMatch(
        /\| \*\*total \(5 nodes\)\*\* \| {2}\| \*\*\d+ \/ 550\*\* \| \*\*[^|]+ \/ 24 \(\d+%\)\*\* \|/,
      );
      // The apps layer, by hand from kubernetes/apps/task-processor/app: gateway 2 × 50m/96Mi, status
      // 2 × 50m/96Mi, worker 1 × 100m/128Mi, redis 25m/64Mi, the task-db Cluster 3 × 100m/256Mi =
      // 9 pods, 625m, 1344Mi; limits 2×500m + 2×500m + 1 + 250m + 3×1 = 6.25 CPU, 4736Mi. The six
      // pods of the meshed namespace (not task-db: inject disabled) get Linkerd's proxy, 10m/20Mi
      // each with a 250Mi memory limit and no CPU limit (the linkerd HelmRelease's proxy.resources):
      // 685m, 1464Mi (1.43Gi); limits 6.25+ CPU, 6236Mi (6.09Gi).
      expect(capacity).toContain("| apps | 9 | 685m | 1.43Gi | 6.25+ | 6.09Gi |");
      expect(capacity).toContain("task-processor/task-gateway, task-processor/task-redis");
      // k3s' CoreDNS (manifests/coredns.yaml): 100m, 70Mi, a 170Mi memory limit and no CPU limit.
      expect(capacity).toContain("| k3s | 1 | 100m | 70Mi | 0+ | 170Mi |");
      for (const layer of ["networking", "security", "platform", "observability", "data"])
        expect(capacity).toMatch(new RegExp(`\\| ${layer} \\| \\d+ \\|`));
      // The pods column of the nodes adds up to the total.
      const pods = [...capacity.matchAll(/^\| (?:cp|worker)-\d \| [a-z-]+ \| (\d+) \/ 110 \|/gm)].map((m) =>
        Number(m[1]),
      );
      expect(pods).toHaveLength(5);
      expect(capacity).toContain(`**${pods.reduce((a, b) => a + b, 0)} / 550**`);
      expect(capacity).toContain("Every pod has a node.");
      expect(capacity).toMatch(/Charts: (\d+) of \1 HelmReleases rendered/);
    },
    slow,
  );

  test("a site without a GitOps tree yet: the site is planned and the capacity section says there is nothing to place", async () => {
    const site = siteCopy();
    copies.push(site.remove);
    rmSync(join(site.root, "kubernetes"), { recursive: true });
    const r = await runKtsw(["-c", site.config, "plan"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("## VLAN / IP plan");
    expect(r.stdout).toContain("## Capacity\n\nNo GitOps tree at ./kubernetes: nothing to place yet.");
  });

  test(
    "a workload too big for any node: plan names the pod and why; validate fails at its manifest",
    async () => {
      const file = "kubernetes/apps/task-processor/app/worker.yaml";
      const config = copyWith(file, "requests: {cpu: 100m, memory: 128Mi}", "requests: {cpu: 100m, memory: 20Gi}");
      const plan = await runKtsw(["-c", config, "plan", ...buildFlags()]);
      expect(plan.code, plan.stderr).toBe(0);
      // A copy has no chart cache beside it: the plan says its charts' pods are not in it.
      expect(plan.stdout).toMatch(/Charts: \d+ HelmReleases not rendered \(no chart cache\)/);
      expect(plan.stdout).toContain("**1 pod fit on no node:**");
      expect(plan.stdout).toContain(
        "- Deployment task-processor/task-worker pod 1: 0/5 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.",
      );
      const res = await runKtsw(["-c", config, "validate", ...schemaFlags()]);
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(
        `${file}:${lineOf(file, "apiVersion: apps/v1")}:1 Deployment task-processor/task-worker: 1 of 1 pod fit on no node of ktsw.yaml: 0/5 nodes are available: 3 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory.`,
      );
    },
    slow,
  );

  test(
    "a container without requests: validate fails per resource at the workload's manifest",
    async () => {
      const file = "kubernetes/apps/task-processor/app/worker.yaml";
      const config = copyWith(
        file,
        'requests: {cpu: 100m, memory: 128Mi}\n            limits: {cpu: "1", memory: 512Mi}',
        "{}",
      );
      const res = await runKtsw(["-c", config, "validate", "--no-policies", ...schemaFlags()]);
      expect(res.code).toBe(1);
      const at = `${file}:${lineOf(file, "apiVersion: apps/v1")}:1`;
      expect(res.stderr).toContain(`${at} Deployment task-processor/task-worker: container worker has no cpu request`);
      expect(res.stderr).toContain(
        `${at} Deployment task-processor/task-worker: container worker has no memory request`,
      );
    },
    slow,
  );
});
