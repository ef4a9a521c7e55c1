// What `ktsw bootstrap` applies, read without a cluster: the namespace, the age key as the Secret the tree's
// decryption settings name, and exactly the root sources of the cluster folder; bad input is refused by name.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { bootstrapObjects, checkAgeKey, rootObjects, sopsAgeSecret } from "../../src/bootstrap/plan.ts";
import { stuck } from "../../src/bootstrap/run.ts";
import { repo } from "../support/cli.ts";

const rootFile = join(repo, "kubernetes", "clusters", "homelab", "flux-system.yaml");
const exampleKey = readFileSync(join(repo, "test-support", "example-age.key"), "utf8");

describe("ktsw bootstrap's objects", () => {
  test("the root sources are the cluster folder's GitRepository and Kustomization, in flux-system", () => {
    const roots = rootObjects(readFileSync(rootFile, "utf8"), rootFile);
    expect(roots.map((o) => `${o.kind} ${o.metadata.namespace}/${o.metadata.name}`)).toEqual([
      "GitRepository flux-system/flux-system",
      "Kustomization flux-system/flux-system",
    ]);
  });

  test("the age key goes into the Secret the tree's decryption settings name, under Flux's key", () => {
    const objects = bootstrapObjects(exampleKey, []);
    expect(objects[0]).toMatchObject({ kind: "Namespace", metadata: { name: "flux-system" } });
    const secret = objects[1] as unknown as { metadata: { name: string }; data: Record<string, string> };
    expect(secret.metadata.name).toBe("sops-age");
    expect(Buffer.from(secret.data[sopsAgeSecret.key] ?? "", "base64").toString()).toBe(exampleKey);
    const root = readFileSync(rootFile, "utf8");
    expect(root).toContain(`name: ${sopsAgeSecret.name}`);
  });

  test("a file without an age secret key is refused, naming the file", () => {
    expect(() => checkAgeKey("age1hueqdzuh4yvpn8l0987n5lzrlkx9jnrapvy6pksmfatrkxvmpvms3qr7yp\n", "pub.txt")).toThrow(
      /pub\.txt: no age secret key/,
    );
    expect(() => checkAgeKey(exampleKey, "example-age.key")).not.toThrow();
  });

  test("a root file without exactly one GitRepository and one Kustomization is refused, naming what is wrong", () => {
    const git = readFileSync(rootFile, "utf8").split("\n---\n")[0] ?? "";
    expect(() => rootObjects(git, "roots.yaml")).toThrow(/roots\.yaml: expected exactly one Kustomization.*found 0/);
    expect(() => rootObjects("a: [", "bad.yaml")).toThrow(/bad\.yaml: /);
    const elsewhere = git.replace("namespace: flux-system", "namespace: default");
    expect(() =>
      rootObjects(`${elsewhere}\n---\n${readFileSync(rootFile, "utf8").split("\n---\n")[1]}`, "r.yaml"),
    ).toThrow(/GitRepository flux-system must be in namespace flux-system/);
  });

  test("the wait is over when everything is Ready but the listed exceptions", () => {
    const row = (name: string, ready: boolean) => ({
      kind: "Kustomization",
      namespace: "flux-system",
      name,
      ready,
      reason: "",
      message: "",
    });
    const rows = [row("a", true), row("b", false), row("c", false)];
    expect(stuck(rows, new Map()).map((r) => r.name)).toEqual(["b", "c"]);
    expect(stuck(rows, new Map([["Kustomization flux-system/b", "why"]])).map((r) => r.name)).toEqual(["c"]);
    // An exception still waiting on a dependency that is Ready has not had its turn: it is waited for.
    const waiting = (dep: string) => ({
      ...row("d", false),
      reason: "DependencyNotReady",
      message: `dependency 'flux-system/${dep}' is not ready`,
    });
    const exceptions = new Map([
      ["Kustomization flux-system/d", "why"],
      ["Kustomization flux-system/b", "why"],
    ]);
    expect(stuck([row("a", true), waiting("a")], exceptions).map((r) => r.name)).toEqual(["d"]);
    expect(stuck([row("b", false), waiting("b")], exceptions).map((r) => r.name)).toEqual([]);
  });
});
