import { readFileSync } from "node:fs";
import { join } from "node:path";
import { search } from "@jmespath-community/jmespath";
import { substituteManifests } from "@ktsw/cli/flux-substitute";
import { whyMissing } from "@ktsw/cli/tools";
import { decodeJwt } from "jose";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { launchChromium } from "../src/chromium.ts";
import {
  decryptSecrets,
  type KeycloakServer,
  keycloakMissing,
  placeholderEnv,
  realmImportFrom,
  startKeycloak,
} from "../src/keycloak.ts";
import { type CodeFlowClient, exchangeCode, logInThroughKeycloak, tokenRequest } from "../src/keycloak-login.ts";
import { type Infra, infraUrls, type Services, startInfra, startServices } from "../src/stack.ts";
import { skipReason as serversMissing } from "../src/testkit.ts";

// The tree's realms imported into real Keycloak the way the operator imports them. The app's realm
// (kubernetes/apps/task-processor/realm): a person logs in to the dashboard's client with the code
// flow + PKCE in Chromium, and the gateway (pointed at that Keycloak) takes or refuses the token.
// The platform realm (kubernetes/data/keycloak/app/platform-realm.yaml), its client secret from the
// tree's SOPS Secret through the placeholder: people log in to the grafana client as Grafana does, and
// Grafana's role_attribute_path (its HelmRelease) gives each the role its groups say.

const repoRoot = join(import.meta.dirname, "../../../..");
const settings = { SITE_DOMAIN: "lab.example.test" };
const realmFile = "kubernetes/apps/task-processor/realm/realm-import.yaml";
const platformFile = "kubernetes/data/keycloak/app/platform-realm.yaml";
const grafanaFile = "kubernetes/observability/grafana/app/helmrelease.yaml";
const secretFiles = [
  "kubernetes/data/keycloak/app/platform-realm-clients.sops.yaml",
  "kubernetes/observability/grafana/app/oauth-client.sops.yaml",
];
const tree = (file: string) => readFileSync(join(repoRoot, file), "utf8");

/** Grafana's auth.generic_oauth settings, as Flux hands the HelmRelease to helm-controller. */
function grafanaOauth(): Record<string, string | boolean> {
  const { objects } = substituteManifests(tree(grafanaFile), settings);
  const release = objects.find((o) => o.kind === "HelmRelease") as {
    spec: { values: { "grafana.ini": Record<string, Record<string, string | boolean>> } };
  };
  return release.spec.values["grafana.ini"]["auth.generic_oauth"] ?? {};
}

const skip = keycloakMissing() ?? whyMissing(["chromium", "sops"]) ?? serversMissing;
if (skip) console.warn(`\n!!! real-Keycloak tests SKIPPED: ${skip}\n`);

describe.skipIf(skip)("the tree's realms on real Keycloak", () => {
  let kc: KeycloakServer;
  let browser: Browser;
  let infra: Infra;
  let svc: Services;
  const imp = realmImportFrom(tree(realmFile), settings, realmFile);
  const platform = realmImportFrom(tree(platformFile), settings, platformFile);
  let secrets: Record<string, Record<string, string>>;
  const user = { username: "dashboard-person", password: "a-test-only-password-1" };
  /** PKCE is required: the code of a real login, exchanged without its verifier, is refused. */
  const expectVerifierRequired = async (client: CodeFlowClient, person: { username: string; password: string }) => {
    const got = await logInThroughKeycloak(browser, client, person);
    const noVerifier = await tokenRequest(client, {
      grant_type: "authorization_code",
      code: got.code,
      redirect_uri: client.redirectUri,
    });
    expect(noVerifier.status).toBe(400);
    expect(await noVerifier.json()).toMatchObject({ error: "invalid_grant" });
  };
  let dashboard: CodeFlowClient;
  /** Runs `fn` with `scope` a default scope of `clientId` in realm ktsw, and takes it away again. */
  const withScope = async <T>(clientId: string, scope: string, fn: () => Promise<T>): Promise<T> => {
    const [client] = (await (await kc.admin(`/realms/ktsw/clients?clientId=${clientId}`)).json()) as { id: string }[];
    const scopes = (await (await kc.admin("/realms/ktsw/client-scopes")).json()) as { id: string; name: string }[];
    const link = `/realms/ktsw/clients/${client?.id}/default-client-scopes/${scopes.find((s) => s.name === scope)?.id}`;
    const added = await kc.admin(link, { method: "PUT" });
    expect(added.status, await added.text()).toBe(204);
    try {
      return await fn();
    } finally {
      await kc.admin(link, { method: "DELETE" });
    }
  };

  beforeAll(async () => {
    secrets = await decryptSecrets(
      secretFiles.map((f) => join(repoRoot, f)),
      join(repoRoot, "test-support/example-age.key"),
    );
    kc = await startKeycloak({
      imports: [
        { realm: imp.realm, env: placeholderEnv(imp, secrets) },
        { realm: platform.realm, env: placeholderEnv(platform, secrets) },
      ],
    });
    console.log(
      `Keycloak ${kc.version}: realm import ${(kc.importMs / 1000).toFixed(1)} s, server ready in ${(kc.startMs / 1000).toFixed(1)} s`,
    );
    const redirect = (imp.realm.clients as { clientId: string; redirectUris?: string[] }[]).find(
      (c) => c.clientId === "task-dashboard",
    )?.redirectUris?.[0];
    dashboard = { issuer: kc.issuer("ktsw"), clientId: "task-dashboard", redirectUri: redirect as string };
    // The tree declares no users (people are made in Keycloak): one for the login.
    await kc.createUser("ktsw", user);
    browser = await launchChromium();
    infra = await startInfra();
    // The services verify Keycloak's tokens: its issuer, its JWKS.
    svc = await startServices({
      ...infraUrls(infra),
      issuer: kc.issuer("ktsw"),
      jwksUrl: `${kc.issuer("ktsw")}/protocol/openid-connect/certs`,
    });
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await svc?.stop();
    await infra?.stop();
    await kc?.stop();
  });

  test("discovery names the realm's issuer and its code flow with S256", async () => {
    const d = (await (await fetch(`${kc.issuer("ktsw")}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    expect(d.issuer).toBe(kc.issuer("ktsw"));
    expect(d.code_challenge_methods_supported).toContain("S256");
    expect(d.jwks_uri).toBe(`${kc.issuer("ktsw")}/protocol/openid-connect/certs`);
    // The client as declared: public, code flow only, the tree's redirect URI.
    const [client] = (await (await kc.admin("/realms/ktsw/clients?clientId=task-dashboard")).json()) as Record<
      string,
      unknown
    >[];
    expect(client).toMatchObject({
      publicClient: true,
      standardFlowEnabled: true,
      directAccessGrantsEnabled: false,
      implicitFlowEnabled: false,
      redirectUris: ["https://tasks.lab.example.test/"],
    });
  });

  test("a person logs in with the code flow + PKCE; the gateway and status API accept the token", async () => {
    const got = await logInThroughKeycloak(browser, dashboard, user);
    const tokens = await exchangeCode(dashboard, got);
    const claims = decodeJwt(tokens.access_token);
    expect(claims.iss).toBe(kc.issuer("ktsw"));
    expect(claims.azp).toBe("task-dashboard");
    expect([claims.aud].flat()).toContain("task-api");
    expect(String(claims.scope).split(" ")).toEqual(expect.arrayContaining(["jobs:read", "jobs:write"]));
    expect(claims.sub).toEqual(expect.any(String));
    const submit = await fetch(`${svc.gatewayUrl}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${tokens.access_token}` },
      body: JSON.stringify({ type: "hash", payload: { data: "from keycloak", rounds: 1 } }),
    });
    expect(submit.status, await submit.clone().text()).toBe(202);
    const { id } = (await submit.json()) as { id: string };
    const read = await fetch(`${svc.statusUrl}/v1/jobs/${id}`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    expect(read.status).toBe(200);
  });

  test("Keycloak refuses what the realm does not allow: no verifier, the password grant (built-in admin-cli too)", async () => {
    await expectVerifierRequired(dashboard, user);
    const refusedGrant = async (client: CodeFlowClient) => {
      const password = await tokenRequest(client, { grant_type: "password", ...user });
      return { status: password.status, ...((await password.json()) as object) };
    };
    const unauthorized = { status: 400, error: "unauthorized_client" };
    expect(await refusedGrant(dashboard)).toMatchObject(unauthorized);
    // Every realm gets Keycloak's admin-cli with the password grant on; both realms turn it off.
    expect(await refusedGrant({ ...dashboard, clientId: "admin-cli" })).toMatchObject(unauthorized);
    expect(await refusedGrant({ ...dashboard, issuer: kc.issuer("platform"), clientId: "admin-cli" })).toMatchObject(
      unauthorized,
    );
  });

  test("the gateway refuses a real token of the realm without the task-api audience, and a tampered one", async () => {
    const post = (token: string) =>
      fetch(`${svc.gatewayUrl}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: "hash", payload: { data: "refused", rounds: 1 } }),
      });
    // Keycloak's built-in account console, a public client every realm gets: the same person's login,
    // the same issuer, a real signature, but a token meant for the account API. The realm gives `basic`
    // (the `sub` claim) to its own clients only; for this test the console gets it too, so that its
    // token differs from the dashboard's in the audience alone.
    const other = await withScope("account-console", "basic", async () => {
      const accountConsole = {
        ...dashboard,
        clientId: "account-console",
        redirectUri: `${kc.issuer("ktsw")}/account/`,
      };
      return (await exchangeCode(accountConsole, await logInThroughKeycloak(browser, accountConsole, user)))
        .access_token;
    });
    expect(decodeJwt(other).sub).toEqual(expect.any(String));
    expect(decodeJwt(other).iss).toBe(kc.issuer("ktsw"));
    expect([decodeJwt(other).aud ?? []].flat()).not.toContain("task-api");
    const refused = await post(other);
    expect(refused.status).toBe(401);
    expect(await refused.text()).toContain("aud");
    // The dashboard's token with one signature byte changed.
    const good = (await exchangeCode(dashboard, await logInThroughKeycloak(browser, dashboard, user))).access_token;
    const [head, body, sig] = good.split(".") as [string, string, string];
    const flipped = `${sig.slice(0, -4)}${sig.slice(-4) === "AAAA" ? "BBBB" : "AAAA"}`;
    expect((await post(`${head}.${body}.${flipped}`)).status).toBe(401);
    expect((await post(good)).status).toBe(202);
  });

  describe("Grafana's login through the platform realm", () => {
    const oauth = grafanaOauth();
    const people = [
      { username: "platform-admin", password: "a-test-only-password-2", groups: ["grafana-admins"], role: "Admin" },
      { username: "platform-editor", password: "a-test-only-password-3", groups: ["grafana-editors"], role: "Editor" },
      { username: "platform-viewer", password: "a-test-only-password-4", groups: [], role: "Viewer" },
    ];
    /** The grafana client as Grafana uses it: its id, its secret (Grafana's copy), its callback, its scopes. */
    const grafana = (): CodeFlowClient => {
      const client = (platform.realm.clients as { clientId: string; redirectUris: string[] }[]).find(
        (c) => c.clientId === oauth.client_id,
      );
      return {
        issuer: kc.issuer("platform"),
        clientId: String(oauth.client_id),
        clientSecret: secrets["grafana-oauth"]?.GF_AUTH_GENERIC_OAUTH_CLIENT_SECRET,
        redirectUri: client?.redirectUris[0] as string,
        scope: String(oauth.scopes),
      };
    };

    beforeAll(async () => {
      for (const p of people) await kc.createUser("platform", { ...p, groups: p.groups.map((g) => `/${g}`) });
    });

    test("each person's token carries the groups claim; Grafana's expression on it gives the role the group says", async () => {
      expect(oauth.role_attribute_strict).toBe(true);
      const expression = String(oauth.role_attribute_path);
      for (const p of people) {
        const tokens = await exchangeCode(grafana(), await logInThroughKeycloak(browser, grafana(), p));
        const id = decodeJwt(tokens.id_token as string);
        expect(id.iss).toBe(kc.issuer("platform"));
        expect(id.preferred_username).toBe(p.username);
        if (p.groups.length) expect(id.groups, p.username).toEqual(p.groups);
        // Grafana reads the ID token first, then userinfo (its api_url): both give the same role.
        expect(search(id as never, expression), p.username).toBe(p.role);
        const info = await fetch(`${kc.issuer("platform")}/protocol/openid-connect/userinfo`, {
          headers: { authorization: `Bearer ${tokens.access_token}` },
        });
        expect(info.status).toBe(200);
        expect(search((await info.json()) as never, expression), `${p.username} (userinfo)`).toBe(p.role);
      }
    });

    test("the grafana client is confidential with PKCE: a wrong secret or no verifier is refused", async () => {
      const client = grafana();
      const person = people[0] as (typeof people)[number];
      const got = await logInThroughKeycloak(browser, client, person);
      const wrong = await tokenRequest(
        { ...client, clientSecret: "not-the-secret" },
        {
          grant_type: "authorization_code",
          code: got.code,
          redirect_uri: client.redirectUri,
          code_verifier: got.verifier,
        },
      );
      expect({ status: wrong.status, ...((await wrong.json()) as object) }).toMatchObject({
        status: 401,
        error: "unauthorized_client",
      });
      await expectVerifierRequired(client, person);
    });

    test("a platform token is no key to the app: the gateway refuses it", async () => {
      const tokens = await exchangeCode(grafana(), await logInThroughKeycloak(browser, grafana(), people[0] as never));
      const r = await fetch(`${svc.gatewayUrl}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${tokens.access_token}` },
        body: JSON.stringify({ type: "hash", payload: { data: "platform", rounds: 1 } }),
      });
      expect(r.status).toBe(401);
    });
  });
});
