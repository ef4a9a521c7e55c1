// `router apply`'s plan: the rendered calls and what the router holds now in, the calls that make
// the router hold exactly KTSW's objects out. Pure; run.ts reads the state and sends the calls.
// An object the router already has (same key) is changed only where a field KTSW sets differs; a
// KTSW-owned object nothing renders any more is deleted just before its section's reconfigure,
// after the changes that may have pointed at it. Reconfigure/apply calls always run: after a
// half-applied run the saved objects may never have been loaded.
import type { ApiCall } from "../render/router/opnsense-api.ts";
import { type Fields, identities, objectKind, settingsGet } from "./endpoints.ts";

export interface RouterObject {
  uuid: string;
  fields: Fields;
}

export interface RouterState {
  /** Per add endpoint: every object of that kind on the router, KTSW's and the user's. */
  objects: Record<string, RouterObject[]>;
  /** Per settings `set` endpoint: the model's current fields. */
  settings: Record<string, Fields>;
}

export interface Step {
  kind: "add" | "set" | "del" | "reload";
  method: "POST";
  path: string;
  body?: Record<string, unknown>;
  /** An add's payload ref: the uuid it returns stands in for `{{ref:X}}` in later bodies. */
  ref?: string;
  /** For people: which object (its key) or which service. */
  what: string;
}

const refPattern = /\{\{ref:([^}]+)\}\}/g;
const secretPattern = /^\{\{secret:[^}]+\}\}$/;

/** The body's one top-level key (`rule`, `alias`, …) and the object under it. */
export function bodyObject(call: Pick<ApiCall, "body">): [string, Fields] | undefined {
  const [entry] = Object.entries(call.body ?? {});
  return entry ? [entry[0], entry[1] as Fields] : undefined;
}

/** Values compared as OPNsense returns them: lists (relations, options, alias entries) in any order. */
const canonical = (v: string) => v.split(/[,\n]/).sort().join(",");

/** `{{ref:X}}` replaced by known uuids; undefined while a ref is still to be created. */
function resolve(value: string, refs: ReadonlyMap<string, string>): string | undefined {
  let missing = false;
  const out = value.replace(refPattern, (_, name: string) => {
    const uuid = refs.get(name);
    if (uuid === undefined) missing = true;
    return uuid ?? "";
  });
  return missing ? undefined : out;
}

function differs(desired: Fields, current: Fields, refs: ReadonlyMap<string, string>): boolean {
  return Object.entries(desired).some(([name, value]) => {
    if (secretPattern.test(value)) return false; // a secret on the router is never overwritten
    const wanted = resolve(value, refs);
    return wanted === undefined || canonical(wanted) !== canonical(current[name] ?? "");
  });
}

const isReload = (call: ApiCall) => call.body === undefined && /\/(reconfigure|apply)$/.test(call.path);

/** Which router object each rendered one is (same key), and the uuids of those that carry a payload ref. */
export function matchObjects(calls: readonly ApiCall[], state: RouterState) {
  const matched = new Map<ApiCall, RouterObject>();
  const refs = new Map<string, string>();
  for (const call of calls) {
    const identity = identities[call.path];
    const object = bodyObject(call);
    if (!identity || !object) continue;
    const key = identity.key(object[1]);
    const found = (state.objects[call.path] ?? []).find(
      (o) => identity.key(o.fields) === key && ![...matched.values()].includes(o),
    );
    if (found) {
      matched.set(call, found);
      if (call.ref) refs.set(call.ref, found.uuid);
    }
  }
  return { matched, refs };
}

export function planApply(calls: readonly ApiCall[], state: RouterState): Step[] {
  // Matched first: relations need the uuids of all of them.
  const { matched, refs } = matchObjects(calls, state);
  const steps: Step[] = [];
  let section: string[] = [];
  for (const call of calls) {
    const identity = identities[call.path];
    const object = bodyObject(call);
    if (identity && object) {
      if (!section.includes(call.path)) section.push(call.path);
      const kind = objectKind(call.path);
      const what = `${object[0]} ${identity.key(object[1])}`;
      const existing = matched.get(call);
      if (!existing) {
        steps.push({ kind: "add", method: "POST", path: call.path, body: call.body, ref: call.ref, what });
      } else if (kind && differs(object[1], existing.fields, refs)) {
        steps.push({ kind: "set", method: "POST", path: `${kind.set}/${existing.uuid}`, body: call.body, what });
      }
    } else if (object && settingsGet(call.path)) {
      if (differs(object[1], state.settings[call.path] ?? {}, refs)) {
        steps.push({ kind: "set", method: "POST", path: call.path, body: call.body, what: `${object[0]} settings` });
      }
    } else if (isReload(call)) {
      // Stale objects of this section, the later kinds first (they may point at the earlier ones).
      for (const path of section.reverse()) {
        const identity = identities[path];
        const kind = objectKind(path);
        if (!identity || !kind) continue;
        const keep = new Set([...matched.values()]);
        for (const o of state.objects[path] ?? []) {
          if (keep.has(o) || !identity.owned(o.fields, refs)) continue;
          steps.push({ kind: "del", method: "POST", path: `${kind.del}/${o.uuid}`, what: identity.key(o.fields) });
        }
      }
      section = [];
      steps.push({ kind: "reload", method: "POST", path: call.path, what: call.note ?? "loads the section" });
    } else {
      throw new Error(`router apply does not know how to apply ${call.path}`);
    }
  }
  return steps;
}

/** Whether a plan changes anything on the router (reloads alone do not). */
export const changesOf = (steps: readonly Step[]) => steps.filter((s) => s.kind !== "reload");
