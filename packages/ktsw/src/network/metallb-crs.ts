// Reads MetalLB's custom resources the way the cluster will see them: Flux substitutes `${VAR}`
// from the cluster-settings ConfigMap first (postBuild.substituteFrom), then MetalLB reads the
// objects. Only the fields that shape the FRR configuration are kept.
import { parseAllDocuments, stringify } from "yaml";
import { substituteManifests } from "../validate/post-build.ts";

export interface BgpPeerCr {
  name: string;
  myASN: number;
  peerASN: number;
  peerAddress: string;
  peerPort?: number;
  holdTime?: string;
  keepaliveTime?: string;
  connectTime?: string;
  bfdProfile?: string;
  ebgpMultiHop?: boolean;
  routerID?: string;
  sourceAddress?: string;
}

export interface BfdProfileCr {
  name: string;
  receiveInterval?: number;
  transmitInterval?: number;
  detectMultiplier?: number;
  echoMode?: boolean;
  echoInterval?: number;
  passiveMode?: boolean;
  minimumTtl?: number;
}

export interface AddressPoolCr {
  name: string;
  addresses: string[];
}

export interface BgpAdvertisementCr {
  name: string;
  ipAddressPools?: string[];
  peers?: string[];
  aggregationLength?: number;
}

export interface MetallbCrs {
  peers: BgpPeerCr[];
  bfdProfiles: BfdProfileCr[];
  pools: AddressPoolCr[];
  advertisements: BgpAdvertisementCr[];
}

/** The MetalLB files as Flux applies them: each object substituted like postBuild does (see
 *  validate/post-build.ts); an undefined variable or any other substitution problem is an error. */
export function substituteVariables(text: string, vars: Record<string, string>, file = "manifest"): string {
  const { objects, undefinedVars, problems } = substituteManifests(text, vars);
  const first = undefinedVars[0];
  if (first !== undefined) throw new Error(`${file}: \${${first}} is not a cluster-settings variable`);
  if (problems[0] !== undefined) throw new Error(`${file}: ${problems[0]}`);
  return objects.map((o) => stringify(o)).join("---\n");
}

const asNumber = (v: unknown) =>
  typeof v === "number" ? v : typeof v === "string" && v !== "" ? Number(v) : undefined;
const asString = (v: unknown) => (typeof v === "string" ? v : typeof v === "number" ? String(v) : undefined);
const asBool = (v: unknown) => (typeof v === "boolean" ? v : v === "true" ? true : v === "false" ? false : undefined);

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Parses every MetalLB object in the given (already substituted) YAML texts. */
export function parseMetallbCrs(texts: { file: string; text: string }[]): MetallbCrs {
  const crs: MetallbCrs = { peers: [], bfdProfiles: [], pools: [], advertisements: [] };
  for (const { file, text } of texts) {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]?.message}`);
      const obj = doc.toJS() as Record<string, unknown> | null;
      if (!obj || typeof obj !== "object" || !String(obj.apiVersion ?? "").startsWith("metallb.io/")) continue;
      const name = String((obj.metadata as Record<string, unknown> | undefined)?.name ?? "");
      const spec = (obj.spec ?? {}) as Record<string, unknown>;
      switch (obj.kind) {
        case "BGPPeer":
          crs.peers.push(
            defined({
              name,
              myASN: asNumber(spec.myASN) ?? Number.NaN,
              peerASN: asNumber(spec.peerASN) ?? Number.NaN,
              peerAddress: asString(spec.peerAddress) ?? "",
              peerPort: asNumber(spec.peerPort),
              holdTime: asString(spec.holdTime),
              keepaliveTime: asString(spec.keepaliveTime),
              connectTime: asString(spec.connectTime),
              bfdProfile: asString(spec.bfdProfile),
              ebgpMultiHop: asBool(spec.ebgpMultiHop),
              routerID: asString(spec.routerID),
              sourceAddress: asString(spec.sourceAddress),
            }),
          );
          break;
        case "BFDProfile":
          crs.bfdProfiles.push(
            defined({
              name,
              receiveInterval: asNumber(spec.receiveInterval),
              transmitInterval: asNumber(spec.transmitInterval),
              detectMultiplier: asNumber(spec.detectMultiplier),
              echoMode: asBool(spec.echoMode),
              echoInterval: asNumber(spec.echoInterval),
              passiveMode: asBool(spec.passiveMode),
              minimumTtl: asNumber(spec.minimumTtl),
            }),
          );
          break;
        case "IPAddressPool":
          crs.pools.push({ name, addresses: ((spec.addresses as unknown[]) ?? []).map(String) });
          break;
        case "BGPAdvertisement":
          crs.advertisements.push(
            defined({
              name,
              ipAddressPools: spec.ipAddressPools as string[] | undefined,
              peers: spec.peers as string[] | undefined,
              aggregationLength: asNumber(spec.aggregationLength),
            }),
          );
          break;
      }
    }
  }
  for (const p of crs.peers) {
    if (!Number.isInteger(p.myASN) || !Number.isInteger(p.peerASN) || p.peerAddress === "") {
      throw new Error(`BGPPeer ${p.name}: myASN, peerASN and peerAddress are required`);
    }
  }
  return crs;
}

/** Kubernetes durations as MetalLB reads them (`90s`, `1m30s`), in whole seconds. */
export function durationSeconds(text: string): number {
  const re = /(\d+(?:\.\d+)?)(h|ms|m|s)/g;
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(re)) {
    const value = Number(m[1]);
    total += m[2] === "h" ? value * 3600 : m[2] === "m" ? value * 60 : m[2] === "s" ? value : value / 1000;
    consumed += m[0].length;
  }
  if (consumed !== text.length || consumed === 0) throw new Error(`"${text}" is not a duration like 90s or 1m30s`);
  return Math.floor(total);
}
