// Every rendered OPNsense call checked against the endpoint and field description derived from
// OPNsense's own model XML (fixtures/opnsense-models.json, with the upstream commits it was read at).
import { readFileSync } from "node:fs";
import { describe, expect, test } from "vitest";
import type { KtswConfig } from "../../src/config/schema.ts";
import { routerBgpPlan } from "../../src/network/router-bgp.ts";
import { opnsenseApiPayload } from "../../src/render/router/opnsense-api.ts";
import { describeNode, type ModelDescription } from "../../src/render/router/opnsense-model/derive.ts";
import { checkedTypes, validateBody } from "../../src/render/router/opnsense-model/validate.ts";
import { parseXml } from "../../src/render/router/opnsense-model/xml.ts";
import { mustParse, siteText } from "./helpers.ts";

const description = JSON.parse(
  readFileSync(new URL("fixtures/opnsense-models.json", import.meta.url), "utf8"),
) as ModelDescription;
const site = mustParse(await siteText());

/** Every call of a payload with what OPNsense would answer; [] when all pass. */
function problems(config: KtswConfig): string[] {
  const payload = opnsenseApiPayload(config, routerBgpPlan(config));
  const ctx = { interfaces: Object.values(payload.interfaces), aliases: [] as string[] };
  const found: string[] = [];
  for (const call of payload.calls) {
    const endpoint = description.endpoints[call.path];
    if (endpoint === undefined) {
      found.push(`${call.path}: not an endpoint the description knows`);
      continue;
    }
    if (endpoint === null) {
      if (call.body !== undefined) found.push(`${call.path}: takes no body`);
      continue;
    }
    for (const [field, message] of Object.entries(validateBody(endpoint, call.body, ctx))) {
      found.push(`${call.path} ${field}: ${message}`);
    }
    const alias = (call.body?.alias as { name?: string } | undefined)?.name;
    if (call.path === "/api/firewall/alias/add_item" && alias) ctx.aliases.push(alias);
  }
  return found;
}

const variants: [string, KtswConfig][] = [
  ["the site", site],
  ["BFD off", { ...site, kubernetes: { ...site.kubernetes, bfd: { ...site.kubernetes.bfd, enabled: false } } }],
  ["WireGuard off", { ...site, router: { ...site.router, wireguard: { ...site.router.wireguard, enabled: false } } }],
];

describe("OPNsense payload against the model description", () => {
  test("the description names the upstream commits it was derived from", () => {
    for (const pin of Object.values(description.upstream)) {
      expect(pin.commit).toMatch(/^[0-9a-f]{40}$/);
      expect(pin.tag).toMatch(/^\d+\.\d+/);
    }
  });

  test.each(variants)("every call of %s is a known endpoint with valid fields", (_name, config) => {
    expect(problems(config)).toEqual([]);
  });

  test("every field type the payload sends is one the validator checks", () => {
    const payload = opnsenseApiPayload(site, routerBgpPlan(site));
    const unchecked = new Set<string>();
    for (const call of payload.calls) {
      const endpoint = description.endpoints[call.path];
      const body = endpoint ? (call.body?.[endpoint.body] as Record<string, string>) : undefined;
      for (const name of Object.keys(body ?? {})) {
        const type = endpoint?.fields[name]?.type;
        if (type && !checkedTypes.has(type)) unchecked.add(`${call.path} ${name}: ${type}`);
      }
    }
    expect([...unchecked]).toEqual([]);
  });

  test("the validator refuses a misspelt field, a wrong option, a missing required field and a non-string", () => {
    const rule = description.endpoints["/api/firewall/filter/add_rule"];
    const alias = description.endpoints["/api/firewall/alias/add_item"];
    if (!rule || !alias) throw new Error("description lacks the filter or alias endpoint");
    const ctx = { interfaces: ["wan", "opt1"], aliases: ["ktsw_internal"] };
    const good = { interface: "opt1", destination_net: "ktsw_internal", destination_not: "1", protocol: "TCP" };
    expect(validateBody(rule, { rule: good }, ctx)).toEqual({});
    expect(validateBody(rule, { rule: { ...good, destination_negate: "1" } }, ctx)).toHaveProperty([
      "rule.destination_negate",
    ]);
    expect(validateBody(rule, { rule: { ...good, direction: "inbound" } }, ctx)).toHaveProperty(["rule.direction"]);
    expect(validateBody(rule, { rule: { ...good, interface: "opt5" } }, ctx)).toHaveProperty(["rule.interface"]);
    expect(validateBody(rule, { rule: { ...good, destination_net: "nope" } }, ctx)).toHaveProperty([
      "rule.destination_net",
    ]);
    expect(validateBody(rule, { rule: { ...good, quick: 1 } }, ctx)).toHaveProperty(["rule.quick"]);
    expect(validateBody(alias, { alias: { type: "network", content: "10.0.0.0/8" } }, ctx)).toHaveProperty([
      "alias.name",
    ]);
    expect(
      validateBody(alias, { alias: { name: "x", type: "network", content: "10.0.0.0/8,10.1.0.0/16" } }, ctx),
    ).toHaveProperty(["alias.content"]);
  });

  test("the derivation reads types, required, defaults, options and settings from model XML", () => {
    const xml = `<?xml version="1.0"?><model><items><things><thing type="ArrayField">
      <!-- a comment --><on type="BooleanField"><Default>1</Default><Required>Y</Required></on>
      <kind type="OptionField"><OptionValues><a>A</a><b value="bee">B</b><grp><c/></grp></OptionValues></kind>
      <n type="IntegerField"><MinimumValue>1</MinimumValue><MaximumValue>9</MaximumValue></n>
      <calc type="TextField" volatile="true"/></thing></things></items></model>`;
    expect(parseXml(xml).children[0]?.name).toBe("model");
    expect(describeNode(xml, "things.thing")).toEqual({
      on: { type: "BooleanField", required: true, default: "1", options: ["0", "1"] },
      kind: { type: "OptionField", required: false, options: ["a", "bee", "c"] },
      n: { type: "IntegerField", required: false, settings: { MinimumValue: "1", MaximumValue: "9" } },
    });
    expect(() => parseXml("<a><b></a>")).toThrow(/closes/);
    expect(() => describeNode(xml, "things.other")).toThrow(/no node things.other/);
  });
});
