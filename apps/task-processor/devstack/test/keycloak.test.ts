import { readFileSync } from "node:fs";
import { join } from "node:path";
import { findTool, whyMissing } from "@ktsw/cli/tools";
import { decodeJwt } from "jose";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { type KeycloakServer, keycloakMissing, realmImportFrom, startKeycloak } from "../src/keycloak.ts";
import { type CodeFlowClient, exchangeCode, logInThroughKeycloak, tokenRequest } from "../src/keycloak-login.ts";
import { type Infra, infraUrls, type Services, startInfra, startServices } from "../src/stack.ts";
import { skipReason as serversMissing } from "../src/testkit.ts";

// The app's realm as the tree declares it (kubernetes/apps/task-processor/realm), imported into real
// Keycloak the way the operator imports it, a person logging in to the dashboard's client with the
// code flow + PKCE in Chromium, and the gateway (pointed at that Keycloak) taking or refusing the token.

const repoRoot = join(import.meta.dirname, "../../../..");
const settings = { SITE_DOMAIN: "lab.example.test" };
const realmFile = "kubernetes/apps/task-processor/realm/realm-import.yaml";

const skip = keycloakMissing() ?? whyMissing(["chromium"]) ?? serversMissing;
if (skip) console.warn(`\n!!! real-Keycloak tests SKIPPED: ${skip}\n`);

describe.skipIf(skip)("the tree's task-processor realm on real Keycloak", () => {
  let kc: KeycloakServer;
  let browser: Browser;
  let infra: Infra;
  let svc: Services;
  const imp = realmImportFrom(readFileSync(join(repoRoot, realmFile), "utf8"), settings, realmFile);
  const user = { username: "dashboard-person", password: "a-test-only-password-1" };
  let dashboard: CodeFlowClient;

  beforeAll(async () => {
    kc = await startKeycloak({ imports: [{ realm: imp.realm, env: {} }] });
    console.log(
      `Keycloak ${kc.version}: realm import ${(kc.importMs / 1000).toFixed(1)} s, server ready in ${(kc.startMs / 1000).toFixed(1)} s`,
    );
    const redirect = (imp.realm.clients as { clientId: string; redirectUris?: string[] }[]).find(
      (c) => c.clientId === "task-dashboard",
    )?.redirectUris?.[0];
    dashboard = { issuer: kc.issuer("ktsw"), clientId: "task-dashboard", redirectUri: redirect as string };
    // The tree declares no users (people are made in Keycloak): one for the login.
    await kc.createUser("ktsw", user);
    browser = await chromium.launch({
      executablePath: findTool("chromium"),
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
    });
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

  test("Keycloak refuses what the realm does not allow: no verifier, the password grant", async () => {
    const got = await logInThroughKeycloak(browser, dashboard, user);
    const noVerifier = await tokenRequest(dashboard, {
      grant_type: "authorization_code",
      code: got.code,
      redirect_uri: dashboard.redirectUri,
    });
    expect(noVerifier.status).toBe(400);
    expect(await noVerifier.json()).toMatchObject({ error: "invalid_grant" });
    const password = await tokenRequest(dashboard, { grant_type: "password", ...user });
    expect({ status: password.status, ...((await password.json()) as object) }).toMatchObject({
      status: 400,
      error: "unauthorized_client",
    });
  });

  test("the gateway refuses a real token of the realm without the task-api audience, and a tampered one", async () => {
    const post = (token: string) =>
      fetch(`${svc.gatewayUrl}/v1/jobs`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ type: "hash", payload: { data: "refused", rounds: 1 } }),
      });
    // Keycloak's built-in admin-cli, a public client every realm gets: same issuer, real signature,
    // and (a Keycloak default the realm import does not turn off) the password grant.
    const cli = { ...dashboard, clientId: "admin-cli" };
    const answer = await tokenRequest(cli, { grant_type: "password", ...user });
    expect(answer.status).toBe(200);
    const other = ((await answer.json()) as { access_token: string }).access_token;
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
});
