import { statusEnv } from "@ktsw/task-shared/config";
import { describe, expect, test } from "vitest";
import { contentSecurityPolicy, dashboardConfig } from "../src/dashboard.ts";

// What the dashboard page is told (/config.json) and what it may load and reach (its CSP).

const config = (env: Record<string, string>) =>
  statusEnv.parse({ OIDC_ISSUER: "https://auth.example.test/realms/ktsw", ...env });

describe("dashboard settings", () => {
  test("a login only with a client id; the issuer defaults to the one the tokens carry", () => {
    expect(dashboardConfig(config({})).oidc).toBeNull();
    expect(dashboardConfig(config({ DASHBOARD_OIDC_CLIENT_ID: "task-dashboard" })).oidc).toEqual({
      issuer: "https://auth.example.test/realms/ktsw",
      clientId: "task-dashboard",
    });
    const other = config({ DASHBOARD_OIDC_CLIENT_ID: "d", DASHBOARD_OIDC_ISSUER: "http://127.0.0.1:9/realms/x" });
    expect(dashboardConfig(other).oidc?.issuer).toBe("http://127.0.0.1:9/realms/x");
  });

  test("the page runs only its own script and talks only to itself, the gateway and the issuer", () => {
    const csp = contentSecurityPolicy(
      dashboardConfig(
        config({ DASHBOARD_OIDC_CLIENT_ID: "task-dashboard", GATEWAY_PUBLIC_URL: "http://127.0.0.1:8081" }),
      ),
    );
    const directives = Object.fromEntries(csp.split("; ").map((d) => [d.split(" ")[0], d.split(" ").slice(1)]));
    expect(directives["script-src"]).toEqual(["'self'"]);
    expect(directives["connect-src"]).toEqual(["'self'", "http://127.0.0.1:8081", "https://auth.example.test"]);
    expect(directives["frame-ancestors"]).toEqual(["'none'"]);
    expect(directives["default-src"]).toEqual(["'none'"]);
  });

  test("same-origin gateway and no login: connect-src is the page's own origin only", () => {
    expect(contentSecurityPolicy(dashboardConfig(config({})))).toContain("connect-src 'self';");
  });
});
