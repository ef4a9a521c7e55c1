// The tree as the sim serves it: every Flux source that points at the internet pointed at the sim's local servers
// instead, and each such change listed so the sim prints it (nothing silently differs from the real tree). Pure:
// the tree's files and the local URLs in, the edited files and the list out.
//
// - HelmRepository (any URL, OCI ones too): the offline Helm repository, which holds every chart the tree pins.
// - GitRepository `flux-system`: the snapshot of the working tree.
// - Any other GitRepository: the local copy of that upstream repository when the offline copies hold its tag.
// - OCIRepository and Bucket: the sim serves no OCI registry and no S3, so these stay as they are and are listed
//   as not redirected, with the reason.
// Fields that only make sense against the real host (its credentials, signature checks, cloud auth, the OCI type)
// are removed from a redirected source, and each removal is listed too.
import { isMap, parseAllDocuments } from "yaml";
import { groupOf, nameOf, namespaceOf, type Obj, str } from "../../validate/flux.ts";
import type { OfflineSource } from "../../validate/offline-sources.ts";
import { normalizeRepo } from "../../validate/offline-sources.ts";
import { type FieldEdit, spliceYaml } from "./yaml-splice.ts";

export const FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io";
/** The GitRepository `flux bootstrap` creates for the cluster's own repository. */
export const TREE_SOURCE = { namespace: "flux-system", name: "flux-system" };

export interface LocalSources {
  /** The offline Helm repository, as served. */
  helmUrl: string;
  /** The snapshot of the working tree, as served. */
  treeGitUrl: string;
  /** The offline copies of upstream Git repositories there are (SOURCES.tsv). */
  upstreamCopies: readonly OfflineSource[];
  /** Where the local copy of an upstream repository (`host/owner/name`) is served. */
  upstreamGitUrl: (repo: string) => string;
}

export interface Redirection {
  /** The file, relative to the repository root. */
  file: string;
  kind: string;
  namespace: string;
  name: string;
  from: string;
  to: string;
  /** Fields removed because they only make sense against the real host. */
  dropped: string[];
}

export interface NotRedirected {
  file: string;
  kind: string;
  namespace: string;
  name: string;
  url: string;
  reason: string;
}

export interface RedirectedTree {
  files: Map<string, string>;
  redirections: Redirection[];
  notRedirected: NotRedirected[];
  /** The branch the tree's own GitRepository follows: the snapshot is committed there. */
  treeBranch: string;
  /** The offline copies the tree's GitRepositories use: each becomes a local git repository. */
  upstreamUsed: OfflineSource[];
}

/** Fields removed from a redirected source, per kind: credentials, signature checks and cloud auth of the real
 *  host, which the local server neither needs nor could satisfy. */
const hostOnlyFields: Record<string, readonly string[]> = {
  GitRepository: ["secretRef", "proxySecretRef", "provider", "verify"],
  HelmRepository: ["secretRef", "certSecretRef", "passCredentials", "provider"],
};
/** An OCI HelmRepository becomes an ordinary one: the offline repository serves the same charts by name. */
const ociHelmFields = ["type", "insecure"];

const isLoopback = (url: string) => /^[a-z][a-z0-9+.-]*:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/i.test(url);

const sourceId = (o: Obj) => `${namespaceOf(o) ?? ""}/${nameOf(o)}`;

interface Decision {
  to?: string;
  reason?: string;
  extraDrops?: readonly string[];
  copy?: OfflineSource;
}

function decide(o: Obj, local: LocalSources): Decision {
  const url = str(o, "spec", "url") ?? "";
  const spec = (o.spec ?? {}) as Obj;
  switch (o.kind) {
    case "HelmRepository":
      return { to: local.helmUrl, ...(spec.type === "oci" ? { extraDrops: ociHelmFields } : {}) };
    case "GitRepository": {
      if (sourceId(o) === `${TREE_SOURCE.namespace}/${TREE_SOURCE.name}`) {
        const pinned = ["tag", "semver", "commit", "name"].find((k) => str(o, "spec", "ref", k) !== undefined);
        if (pinned && !str(o, "spec", "ref", "branch"))
          return { reason: `follows ref.${pinned}, but the sim commits the working tree to a branch` };
        return { to: local.treeGitUrl };
      }
      const repo = normalizeRepo(url);
      const tag = str(o, "spec", "ref", "tag");
      const same = local.upstreamCopies.filter((c) => c.repo === repo);
      const copy = same.find((c) => c.tag === tag);
      if (copy) return { to: local.upstreamGitUrl(repo), copy };
      if (!tag) return { reason: "not pinned by ref.tag, so no offline copy can stand for it" };
      const have = same.length ? `tags there: ${same.map((c) => c.tag).join(", ")}` : "no copy of that repository";
      return { reason: `tag ${tag} is not in the offline copies (${have})` };
    }
    case "OCIRepository":
      return { reason: "an OCI artifact: the sim serves no OCI registry" };
    case "Bucket":
      return { reason: "an S3 bucket: the sim serves no object storage" };
    default:
      return {};
  }
}

export function redirectSources(files: ReadonlyMap<string, string>, local: LocalSources): RedirectedTree {
  const out = new Map(files);
  const redirections: Redirection[] = [];
  const notRedirected: NotRedirected[] = [];
  const upstreamUsed = new Map<string, OfflineSource>();
  let treeBranch = "main";
  for (const [file, text] of files) {
    if (!/\.ya?ml$/.test(file)) continue;
    const docs = parseAllDocuments(text);
    if (!Array.isArray(docs)) continue;
    const edits: FieldEdit[] = [];
    for (const [i, doc] of docs.entries()) {
      if (doc.errors.length > 0 || !isMap(doc.contents)) continue;
      const o = doc.toJS() as Obj;
      if (groupOf(o) !== FLUX_SOURCE_GROUP) continue;
      const from = str(o, "spec", "url") ?? "";
      const what = { file, kind: String(o.kind), namespace: namespaceOf(o) ?? "", name: nameOf(o) };
      if (from === "" || isLoopback(from)) continue;
      const d = decide(o, local);
      if (d.reason) notRedirected.push({ ...what, url: from, reason: d.reason });
      if (!d.to) continue;
      if (d.copy) upstreamUsed.set(`${d.copy.repo}@${d.copy.tag}`, d.copy);
      if (d.to === local.treeGitUrl) treeBranch = str(o, "spec", "ref", "branch") ?? treeBranch;
      const spec = (o.spec ?? {}) as Obj;
      const dropped = [...(hostOnlyFields[what.kind] ?? []), ...(d.extraDrops ?? [])].filter((f) => f in spec);
      edits.push({ doc: i, path: ["spec", "url"], value: d.to });
      for (const f of dropped) edits.push({ doc: i, path: ["spec", f] });
      redirections.push({ ...what, from, to: d.to, dropped: dropped.map((f) => `spec.${f}`) });
    }
    if (edits.length > 0) out.set(file, spliceYaml(text, edits));
  }
  return { files: out, redirections, notRedirected, treeBranch, upstreamUsed: [...upstreamUsed.values()] };
}

/** One line per redirection and per source left as it is, for the sim's progress output. */
export function describeRedirections(t: Pick<RedirectedTree, "redirections" | "notRedirected">): string[] {
  const id = (r: { kind: string; namespace: string; name: string }) =>
    `${r.kind} ${r.namespace ? `${r.namespace}/` : ""}${r.name}`;
  return [
    ...t.redirections.map(
      (r) =>
        `redirected ${id(r)} (${r.file}): ${r.from} → ${r.to}${r.dropped.length ? `; removed ${r.dropped.join(", ")}` : ""}`,
    ),
    ...t.notRedirected.map((r) => `NOT redirected ${id(r)} (${r.file}): ${r.url}: ${r.reason}`),
  ];
}
