// Checks a payload call against the model description the way OPNsense's MVC validation would:
// every field must exist in the model (OPNsense silently ignores an unknown key, so a typo would
// leave the default in place), required fields without a default must be sent, and each value must
// pass its field type's check. Returns OPNsense's own shape: `{ "<body>.<field>": message }`.
// `{{ref:X}}` stands for a uuid the router returns and `{{secret:X}}` for a value supplied at apply.
import { isCidr, isIPv4 } from "../../../config/ipv4.ts";
import type { EndpointDescription, FieldDescription } from "./derive.ts";

export interface ValidationContext {
  /** Interface identifiers that exist on the router (assignments and plugin groups). */
  interfaces: string[];
  /** Alias names defined on the router (by earlier calls). */
  aliases: string[];
}

const ref = /^\{\{ref:[^}]+\}\}$/;
const secret = /^\{\{secret:[^}]+\}\}$/;
const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const hostname = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/i;

/** A PHP preg pattern (`/…/flags`) as a JavaScript RegExp. */
function phpRegex(pattern: string): RegExp {
  const end = pattern.lastIndexOf("/");
  const body = pattern.slice(1, end);
  const flags = pattern.slice(end + 1).replace(/[^iu]/g, "");
  try {
    return new RegExp(body, flags);
  } catch {
    return new RegExp(body, flags.replace("u", ""));
  }
}

const inRange = (f: FieldDescription, n: number) =>
  (f.settings?.MinimumValue === undefined || n >= Number(f.settings.MinimumValue)) &&
  (f.settings?.MaximumValue === undefined || n <= Number(f.settings.MaximumValue));

const port = (v: string) => /^\d+$/.test(v) && Number(v) >= 1 && Number(v) <= 65535;

/** One value (one item of a list) of a field type; undefined when it passes. */
type Check = (v: string, f: FieldDescription, ctx: ValidationContext) => string | undefined;
const checks: Record<string, Check> = {
  OptionField: (v, f) => (f.options?.includes(v) ? undefined : `option not in list: ${f.options?.join(", ")}`),
  BooleanField: (v) => (v === "0" || v === "1" ? undefined : "must be 0 or 1"),
  IntegerField: (v, f) =>
    /^-?\d+$/.test(v) && inRange(f, Number(v))
      ? undefined
      : `must be an integer in ${f.settings?.MinimumValue}..${f.settings?.MaximumValue}`,
  TextField: (v, f) =>
    f.settings?.Mask && !phpRegex(f.settings.Mask).test(v) ? `does not match ${f.settings.Mask}` : undefined,
  DescriptionField: (v) => (v.length <= 255 ? undefined : "longer than 255 characters"),
  NetworkField: (v, f) => {
    if (!isIPv4(v) && !isCidr(v)) return "not an IPv4 address or network";
    if (f.settings?.NetMaskRequired === "Y" && !isCidr(v)) return "a netmask is required";
    if (f.settings?.NetMaskAllowed === "N" && isCidr(v)) return "no netmask allowed";
    return undefined;
  },
  HostnameField: (v, f) =>
    (f.settings?.HostWildcardAllowed === "Y" && v === "*") || hostname.test(v) ? undefined : "not a valid hostname",
  Base64Field: (v) => (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0 ? undefined : "not base64"),
  PortField: (v, f, ctx) => {
    if (port(v)) return undefined;
    const range = v.split(/[-:]/);
    if (f.settings?.EnableRanges === "Y" && range.length === 2 && range.every(port)) return undefined;
    if (f.settings?.EnableAlias === "Y" && ctx.aliases.includes(v)) return undefined;
    return "not a port, range or port alias";
  },
  ModelRelationField: (v) => (ref.test(v) || uuid.test(v) ? undefined : "not a uuid of a related item"),
  InterfaceField: (v, _f, ctx) =>
    ctx.interfaces.includes(v) ? undefined : `no interface ${v} (${ctx.interfaces.join(", ")})`,
  NetworkAliasField: (v, _f, ctx) =>
    ["any", "(self)"].includes(v) || isIPv4(v) || isCidr(v) || ctx.aliases.includes(v) || ctx.interfaces.includes(v)
      ? undefined
      : `${v} is not a valid source IP address or alias.`,
  ProtocolField: (v, f) =>
    v === "any" || (f.settings?.AddOptions ?? "").split(",").includes(v) || /^[A-Z][A-Z0-9-]*$/.test(v)
      ? undefined
      : "not a protocol name from /etc/protocols (upper case) or any",
  // Firewall-specific types (core's Firewall/FieldTypes).
  ".\\FilterSequenceField": (v, f) => (/^\d+$/.test(v) && inRange(f, Number(v)) ? undefined : "sequence out of range"),
  ".\\AliasNameField": (v) =>
    /^([a-zA-Z]|(([_a-zA-Z][a-zA-Z0-9]|[a-zA-Z][_a-zA-Z0-9])[_a-zA-Z0-9]{0,29}))$/.test(v)
      ? undefined
      : "The name must start with a letter or single underscore, be less than 32 characters and only consist of alphanumeric characters or underscores.",
  // The parent NIC is the router's own; only its shape can be checked here.
  ".\\VlanInterfaceField": (v) => (/^[a-z]+\d+$/.test(v) ? undefined : "not a network device name"),
};
checks.NumericField = checks.IntegerField as Check;
checks.StrictTextField = checks.TextField as Check;

/** Alias content by alias type (core's AliasContentField): entries one per line. */
function aliasContent(type: string, content: string, ctx: ValidationContext): string | undefined {
  for (const entry of content.split("\n")) {
    const range = entry.split("-");
    const isRange = range.length === 2 && range.every(isIPv4);
    const ok =
      type === "host"
        ? isIPv4(entry) || isRange || ctx.aliases.includes(entry) || hostname.test(entry)
        : type === "network"
          ? isIPv4(entry) || isCidr(entry) || isRange || ctx.aliases.includes(entry)
          : true;
    if (!ok) return `Entry "${entry}" is not a ${type === "host" ? "valid hostname, IP address or range" : "network"}.`;
  }
  return undefined;
}

/** Field types whose values this module checks; any other type in a payload is a gap to close. */
export const checkedTypes = new Set([...Object.keys(checks), ".\\AliasContentField", "AutoNumberField"]);

export function validateBody(
  endpoint: EndpointDescription,
  body: Record<string, unknown> | undefined,
  ctx: ValidationContext,
): Record<string, string> {
  const problems: Record<string, string> = {};
  const data = body?.[endpoint.body];
  const key = (field: string) => `${endpoint.body}.${field}`;
  if (typeof data !== "object" || data === null) return { [endpoint.body]: `the body needs the key ${endpoint.body}` };
  const values = data as Record<string, unknown>;
  for (const [name, value] of Object.entries(values)) {
    const field = endpoint.fields[name];
    if (!field) {
      problems[key(name)] = `not a field of ${endpoint.node || endpoint.body} (OPNsense would ignore it)`;
      continue;
    }
    if (typeof value !== "string") {
      problems[key(name)] = "Invalid input type: expected a single value";
      continue;
    }
    if (secret.test(value) || value === "") continue;
    if (field.type === ".\\AliasContentField") {
      const message = aliasContent(String(values.type ?? ""), value, ctx);
      if (message) problems[key(name)] = message;
      continue;
    }
    const check = checks[field.type];
    if (!check) continue;
    const items = field.multiple || field.settings?.AsList === "Y" ? value.split(",") : [value];
    for (const item of items) {
      const message = check(item, field, ctx);
      if (message) {
        problems[key(name)] = message;
        break;
      }
    }
  }
  for (const [name, field] of Object.entries(endpoint.fields)) {
    // AutoNumberField picks the next free number itself (its applyDefault).
    if (field.required && field.default === undefined && field.type !== "AutoNumberField" && !(name in values)) {
      problems[key(name)] = "A value is required.";
    }
  }
  return problems;
}
