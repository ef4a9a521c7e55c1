// Derives the description of every endpoint the payload calls from OPNsense's own model XML: per
// field its MVC type, whether it is required, its default, its allowed options and the type's
// settings (Mask, MinimumValue, AddressFamily, ...). Pure: model texts in, description out; the
// I/O shell is update.ts.
import { endpointSources } from "./endpoints.ts";
import { child, parseXml, type XmlElement } from "./xml.ts";

export interface FieldDescription {
  type: string;
  required: boolean;
  default?: string;
  /** Allowed values of an OptionField (BooleanField: "0"/"1"); `multiple` allows a comma list. */
  options?: string[];
  multiple?: boolean;
  /** The type's other settings as written in the model (MinimumValue, Mask, AddressFamily, ...). */
  settings?: Record<string, string>;
}

export interface EndpointDescription {
  repo: "core" | "plugins";
  model: string;
  body: string;
  node: string;
  fields: Record<string, FieldDescription>;
}

export interface ModelDescription {
  about: string;
  upstream: Record<string, { repo: string; tag: string; commit: string; plugin?: string; pluginVersion?: string }>;
  endpoints: Record<string, EndpointDescription | null>;
}

const structural = new Set(["Required", "Default", "OptionValues", "Multiple", "Constraints", "Model", "Filters"]);

function optionKeys(values: XmlElement): string[] {
  return values.children.flatMap((o) => (o.children.length > 0 ? optionKeys(o) : [o.attributes.value ?? o.name]));
}

function describeField(el: XmlElement): FieldDescription {
  const type = el.attributes.type ?? "";
  const text = (name: string) => child(el, name)?.text.trim();
  const field: FieldDescription = { type, required: text("Required") === "Y" };
  const def = child(el, "Default");
  if (def) field.default = def.text.trim();
  const values = child(el, "OptionValues");
  if (values) field.options = optionKeys(values);
  if (type === "BooleanField") field.options = ["0", "1"];
  if (text("Multiple") === "Y") field.multiple = true;
  const settings: Record<string, string> = {};
  for (const c of el.children) {
    if (structural.has(c.name)) continue;
    settings[c.name] =
      c.children.length > 0 ? c.children.map((o) => o.attributes.value ?? o.name).join(",") : c.text.trim();
  }
  if (Object.keys(settings).length > 0) field.settings = settings;
  return field;
}

/** The element at a dotted path under the model's <items>. */
function nodeAt(model: XmlElement, path: string): XmlElement {
  const items = child(child(model, "model") ?? model, "items");
  if (!items) throw new Error("model has no <items>");
  let node = items;
  for (const part of path ? path.split(".") : []) {
    const next = child(node, part);
    if (!next) throw new Error(`model has no node ${path}`);
    node = next;
  }
  return node;
}

/** Leaf fields of a node: elements with a field type and no field children (containers are skipped). */
function leafFields(node: XmlElement): Record<string, FieldDescription> {
  const fields: Record<string, FieldDescription> = {};
  for (const el of node.children) {
    const isContainer = el.children.some((c) => c.attributes.type !== undefined) || el.attributes.type === undefined;
    if (isContainer) continue;
    if (el.attributes.volatile === "true") continue; // computed, never stored
    fields[el.name] = describeField(el);
  }
  return fields;
}

/** The stored fields of one model node (`rules.rule`, or "" for the model's own fields). */
export function describeNode(modelXml: string, node: string): Record<string, FieldDescription> {
  return leafFields(nodeAt(parseXml(modelXml), node));
}

export function deriveDescription(
  modelTexts: Record<string, string>,
  upstream: ModelDescription["upstream"],
): ModelDescription {
  const endpoints: Record<string, EndpointDescription | null> = {};
  for (const [path, source] of Object.entries(endpointSources)) {
    if (!source) {
      endpoints[path] = null;
      continue;
    }
    const text = modelTexts[`${source.repo}:${source.model}`];
    if (text === undefined) throw new Error(`no text for ${source.repo}:${source.model}`);
    const fields = describeNode(text, source.node);
    for (const f of source.filledByController ?? []) delete fields[f];
    endpoints[path] = { repo: source.repo, model: source.model, body: source.body, node: source.node, fields };
  }
  return {
    about:
      "Derived by packages/ktsw/src/render/router/opnsense-model/update.ts from OPNsense's model XML at the commits below; do not edit by hand.",
    upstream,
    endpoints,
  };
}
