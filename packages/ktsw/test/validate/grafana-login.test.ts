// Grafana's login through Keycloak as the tree wires it: the platform realm's client grafana
// (kubernetes/data/keycloak/app/platform-realm.yaml) and Grafana's auth.generic_oauth
// (kubernetes/observability/grafana/app/helmrelease.yaml) name each other — redirect URI, client id,
// realm, secret — and the network lets Grafana's server reach Keycloak. Each link breaks only at login
// time on a real cluster; here it breaks the build. Whether the login works is proven on real Keycloak
// by apps/task-processor/devstack/test/keycloak.test.ts.
import { resolve } from "node:path";
import { describe, expect, test } from "vitest";
import { parse } from "yaml";
import { sopsDecrypt } from "../../src/secrets/sops.ts";
import { findTool, missingToolMessage } from "../../src/tools/find.ts";
import { arr, get, type Obj, str } from "../../src/validate/flux.ts";
import type { AppliedTree } from "../../src/validate/index.ts";
import { connectionAllowed } from "../support/network-policies.ts";
import { appliedTree, theObject } from "../support/tree.ts";

const repo = resolve(import.meta.dirname, "../../../..");
const exampleKey = resolve(repo, "test-support/example-age.key");
const missing = (["helm", "sops"] as const).filter((t) => !findTool(t));
if (missing.length > 0)
  console.warn(`SKIPPING Grafana's Keycloak login wiring: ${missing.map((t) => missingToolMessage(t)).join("; ")}`);

/** Grafana's grafana.ini as the chart renders it into its ConfigMap: section → key → value. */
function grafanaIni(tree: AppliedTree): Record<string, Record<string, string>> {
  const text = str(theObject(tree, "ConfigMap", "grafana", "observability"), "data", "grafana.ini") ?? "";
  const ini: Record<string, Record<string, string>> = { "": {} };
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    const header = /^\[(.+)\]$/.exec(line);
    if (header?.[1]) {
      section = header[1];
      ini[section] = {};
    } else if (line.includes("=")) {
      const at = line.indexOf("=");
      (ini[section] as Record<string, string>)[line.slice(0, at).trim()] = line.slice(at + 1).trim();
    }
  }
  return ini;
}

async function decryptedStringData(file: string): Promise<Record<string, string>> {
  const res = await sopsDecrypt(repo, file, exampleKey);
  expect(res.code, res.stderr).toBe(0);
  return (parse(res.stdout) as { stringData: Record<string, string> }).stringData;
}

describe.skipIf(missing.length > 0)("Grafana's login through the platform realm", () => {
  test("the client's redirect URI is Grafana's callback on the host of its IngressRoute", async () => {
    const tree = await appliedTree();
    const realmImport = theObject(tree, "KeycloakRealmImport", "platform", "keycloak");
    expect(str(realmImport, "spec", "keycloakCRName")).toBe(
      str(theObject(tree, "Keycloak", "keycloak", "keycloak"), "metadata", "name"),
    );
    const realm = get(realmImport, "spec", "realm") as Obj;
    const client = (arr(realm, "clients") as Obj[]).find((c) => str(c, "clientId") === "grafana") as Obj;
    expect(client).toBeDefined();
    expect([
      get(client, "publicClient"),
      get(client, "standardFlowEnabled"),
      get(client, "directAccessGrantsEnabled"),
    ]).toEqual([false, true, false]);
    expect(str(client, "attributes", "pkce.code.challenge.method")).toBe("S256");
    const route = theObject(tree, "IngressRoute", "grafana", "observability");
    const host = /Host\(`([^`]+)`\)/.exec(str(route, "spec", "routes", 0, "match") ?? "")?.[1];
    expect(host).toMatch(/^grafana\./);
    const ini = grafanaIni(tree);
    expect(ini.server?.root_url).toBe(`https://${host}`);
    // Grafana sends <root_url>/login/generic_oauth; Keycloak accepts exactly the registered URIs.
    expect(arr(client, "redirectUris")).toEqual([`${ini.server?.root_url}/login/generic_oauth`]);
    expect(arr(client, "webOrigins")).toEqual([ini.server?.root_url]);
  });

  test("Grafana asks the realm's client by its id, PKCE on, browser at the public URL, its own calls in-cluster", async () => {
    const tree = await appliedTree();
    const oauth = grafanaIni(tree)["auth.generic_oauth"] ?? {};
    expect(oauth).toMatchObject({
      enabled: "true",
      client_id: "grafana",
      use_pkce: "true",
      role_attribute_strict: "true",
    });
    // The role expression reaches grafana.ini as written (the chart passes strings through tpl).
    const release = theObject(tree, "HelmRelease", "grafana", "observability");
    expect(oauth.role_attribute_path).toBe(
      str(release, "spec", "values", "grafana.ini", "auth.generic_oauth", "role_attribute_path"),
    );
    expect(oauth.role_attribute_path).toContain("grafana-admins");
    // No secret in grafana.ini (nor in the ConfigMap): it comes from the environment.
    expect(oauth.client_secret).toBeUndefined();
    const keycloak = theObject(tree, "Keycloak", "keycloak", "keycloak");
    const publicUrl = str(keycloak, "spec", "hostname", "hostname");
    expect(oauth.auth_url).toBe(`${publicUrl}/realms/platform/protocol/openid-connect/auth`);
    const service = "http://keycloak-service.keycloak.svc:8080";
    expect(oauth.token_url).toBe(`${service}/realms/platform/protocol/openid-connect/token`);
    expect(oauth.api_url).toBe(`${service}/realms/platform/protocol/openid-connect/userinfo`);
    // The in-cluster host answers with the public issuer only because back-channel URLs are dynamic.
    expect(get(keycloak, "spec", "hostname", "backchannelDynamic")).toBe(true);
    expect(get(keycloak, "spec", "http", "httpPort")).toBe(8080);
    // Grafana's pod may open that connection and Keycloak's pods accept it.
    const policies = tree.applied.map((a) => a.object).filter((o) => o.kind === "NetworkPolicy");
    const grafana = { namespace: "observability", labels: { "app.kubernetes.io/name": "grafana" } };
    const server = { namespace: "keycloak", labels: { app: "keycloak" } };
    expect(connectionAllowed(policies, grafana, server, 8080)).toBe(true);
    expect(connectionAllowed(policies, grafana, server, 9000)).toBe(false);
  });

  test("one client secret: the realm import's placeholder and Grafana's environment hold the same value", async () => {
    const tree = await appliedTree();
    const realmImport = theObject(tree, "KeycloakRealmImport", "platform", "keycloak");
    const client = (arr(realmImport, "spec", "realm", "clients") as Obj[]).find(
      (c) => str(c, "clientId") === "grafana",
    );
    // After Flux's substitution the import holds the placeholder; the operator resolves it from the Secret.
    expect(str(client, "secret")).toBe("${GRAFANA_CLIENT_SECRET}");
    const ref = get(realmImport, "spec", "placeholders", "GRAFANA_CLIENT_SECRET", "secret") as {
      name: string;
      key: string;
    };
    expect(ref).toEqual({ name: "platform-realm-clients", key: "grafana-client-secret" });
    theObject(tree, "Secret", ref.name, "keycloak");
    const release = theObject(tree, "HelmRelease", "grafana", "observability");
    expect(get(release, "spec", "values", "envFromSecrets")).toEqual([{ name: "grafana-oauth" }]);
    theObject(tree, "Secret", "grafana-oauth", "observability");
    const inKeycloak = await decryptedStringData("kubernetes/data/keycloak/app/platform-realm-clients.sops.yaml");
    const inGrafana = await decryptedStringData("kubernetes/observability/grafana/app/oauth-client.sops.yaml");
    expect(inKeycloak[ref.key]?.length).toBeGreaterThanOrEqual(32);
    expect(inGrafana.GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET).toBe(inKeycloak[ref.key]);
  });
});
