// The sim relaxes exactly the webhooks no process can serve (Service-backed: their pods run no container), says why
// on each, and leaves alone those it serves itself (a url) and those it relaxed before.
import { describe, expect, test } from "vitest";
import { relaxations, relaxedAnnotation, relaxedLabel } from "../../src/sim/webhooks.ts";

const svc = (name: string) => ({ service: { namespace: "metallb-system", name } });

describe("relaxing the webhooks the sim cannot serve", () => {
  test("each Service-backed webhook gets a selector nothing matches, and the configuration says why", () => {
    const [r, ...rest] = relaxations({
      items: [
        {
          kind: "ValidatingWebhookConfiguration",
          metadata: { name: "metallb-webhook-configuration" },
          webhooks: [
            { name: "ipaddresspoolvalidationwebhook.metallb.io", clientConfig: svc("metallb-webhook-service") },
            { name: "local.example", clientConfig: { url: "https://127.0.0.1:9443/v1/admit" } },
            { name: "bgppeervalidationwebhook.metallb.io", clientConfig: svc("metallb-webhook-service") },
          ],
        },
      ],
    });
    expect(rest).toEqual([]);
    expect(r?.line).toBe(
      "relaxed ValidatingWebhookConfiguration metallb-webhook-configuration (ipaddresspoolvalidationwebhook.metallb.io, bgppeervalidationwebhook.metallb.io): served by Service metallb-system/metallb-webhook-service, whose pods run no container on the sim",
    );
    const selector = { matchExpressions: [{ key: relaxedLabel, operator: "Exists" }] };
    expect(r?.patch).toEqual([
      { op: "add", path: "/webhooks/0/objectSelector", value: selector },
      { op: "add", path: "/webhooks/2/objectSelector", value: selector },
      { op: "add", path: "/metadata/annotations", value: {} },
      {
        op: "add",
        path: `/metadata/annotations/${relaxedAnnotation.replace("/", "~1")}`,
        value: expect.stringContaining("metallb-webhook-service"),
      },
    ]);
  });

  test("a webhook relaxed before, or served at a url, is left alone", () => {
    const relaxed = { matchExpressions: [{ key: relaxedLabel, operator: "Exists" }] };
    expect(
      relaxations({
        items: [
          { metadata: { name: "a" }, webhooks: [{ name: "x", clientConfig: svc("s"), objectSelector: relaxed }] },
          { metadata: { name: "b" }, webhooks: [{ name: "y", clientConfig: { url: "https://127.0.0.1:1/" } }] },
        ],
      }),
    ).toEqual([]);
  });
});
