import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { javaMajor, keycloakDistribution, pickJavaHome, placeholderEnv, realmImportFrom } from "../src/keycloak.ts";

// The pure parts of the real-Keycloak harness: which Java, which Keycloak, which realm and variables.

const repoRoot = join(import.meta.dirname, "../../../..");

describe("the Keycloak the harness runs", () => {
  test("is the release the tree's Keycloak server runs (deps/maven.txt and the Keycloak object agree)", () => {
    const kc = parse(readFileSync(join(repoRoot, "kubernetes/data/keycloak/app/keycloak.yaml"), "utf8")) as {
      spec: { image: string };
    };
    expect(kc.spec.image).toBe(`quay.io/keycloak/keycloak:${keycloakDistribution().version}`);
  });

  test("runs on a Java release Keycloak supports, 21 before 17, never another", () => {
    expect(javaMajor('JAVA_VERSION="17.0.15"\n')).toBe(17);
    expect(javaMajor('IMPLEMENTOR="x"\nJAVA_VERSION="1.8.0_402"')).toBe(8);
    expect(javaMajor("nothing")).toBeUndefined();
    const jdk = (home: string, v: string) => ({ home, release: `JAVA_VERSION="${v}"` });
    expect(pickJavaHome([jdk("/j/25", "25.0.3"), jdk("/j/17", "17.0.15")])).toBe("/j/17");
    expect(pickJavaHome([jdk("/j/17", "17.0.15"), jdk("/j/21", "21.0.4")])).toBe("/j/21");
    expect(pickJavaHome([jdk("/j/25", "25.0.3"), jdk("/j/11", "11.0.2")])).toBeUndefined();
  });
});

describe("a KeycloakRealmImport as the operator reads it", () => {
  const file = "x/realm.yaml";
  const manifest = (spec: string) =>
    `apiVersion: k8s.keycloak.org/v2alpha1\nkind: KeycloakRealmImport\nmetadata:\n  name: r\nspec:\n${spec}`;

  test("Flux substitutes site variables; $${X} reaches the import as the placeholder ${X}", () => {
    const imp = realmImportFrom(
      manifest(
        "  placeholders:\n    CLIENT_SECRET:\n      secret: {name: s, key: k}\n  realm:\n    realm: p\n    clients:\n      - clientId: c\n        secret: $${CLIENT_SECRET}\n        redirectUris:\n          - https://g.${SITE_DOMAIN}/cb\n",
      ),
      { SITE_DOMAIN: "lab.example.test" },
      file,
    );
    expect(imp.realm.clients).toEqual([
      { clientId: "c", secret: "${CLIENT_SECRET}", redirectUris: ["https://g.lab.example.test/cb"] },
    ]);
    expect(placeholderEnv(imp, { s: { k: "v" } })).toEqual({ CLIENT_SECRET: "v" });
  });

  test("a placeholder whose Secret or key is missing, an unknown variable, no realm: errors naming the place", () => {
    const imp = realmImportFrom(
      manifest("  placeholders:\n    X:\n      secret: {name: s, key: k}\n  realm:\n    realm: p\n"),
      {},
      file,
    );
    expect(() => placeholderEnv(imp, { s: { other: "v" } })).toThrow(
      'x/realm.yaml (r): placeholder X names key "k" of Secret "s", which is not there',
    );
    expect(() => realmImportFrom(manifest("  realm:\n    realm: ${NOPE}\n"), { A: "b" }, file)).toThrow(
      "x/realm.yaml: Flux does not know NOPE",
    );
    expect(() => realmImportFrom(manifest("  realm: {}\n"), {}, file)).toThrow("spec.realm.realm");
    expect(() => realmImportFrom("kind: ConfigMap\n", {}, file)).toThrow("expected one KeycloakRealmImport, found 0");
  });
});
