// The repository's SOPS set-up, checked the same way by `ktsw secrets check` and `ktsw validate`:
// .sops.yaml exists and its rule names exactly the age recipients ktsw.yaml lists, and every
// *.sops.yaml is really encrypted (sops metadata with a MAC, values ENC[...]) to those recipients.
// Pure functions over file texts; repository.ts reads the files.
import { isMap, LineCounter, parseAllDocuments, parseDocument, stringify } from "yaml";
import { locate } from "../config/locate.ts";
import { type Finding, finding } from "../diagnostics.ts";

export const SOPS_CONFIG_FILE = ".sops.yaml";
/** Values only: reviewers and `ktsw validate` still see which keys a Secret has. */
const ENCRYPTED_REGEX = "^(data|stringData)$";
const PATH_REGEX = ".*\\.sops\\.yaml$";
const CIPHERTEXT = /^ENC\[AES256_GCM,data:.*,type:[a-z]+\]$/;

/** A value SOPS encrypted (what `sops --encrypt` writes for each data/stringData value). */
export function isCiphertext(value: unknown): boolean {
  return typeof value === "string" && CIPHERTEXT.test(value);
}

/** A document SOPS encrypted: it carries sops metadata with a MAC. */
export function hasSopsMetadata(o: unknown): boolean {
  return typeof (o as { sops?: { mac?: unknown } } | null)?.sops?.mac === "string";
}

/** The .sops.yaml `ktsw secrets init` writes: one rule for *.sops.yaml, to ktsw.yaml's recipients. */
export function sopsConfigText(recipients: readonly string[]): string {
  const rules = {
    creation_rules: [{ path_regex: PATH_REGEX, encrypted_regex: ENCRYPTED_REGEX, age: recipients.join(",") }],
  };
  return [
    "# SOPS rules, written by `ktsw secrets init`: files named *.sops.yaml are encrypted to the age",
    "# recipients ktsw.yaml lists (secrets.ageRecipients); only data/stringData values are encrypted.",
    stringify(rules),
  ].join("\n");
}

/** .sops.yaml is missing: sops cannot encrypt, and Flux-bound secrets cannot be checked. */
export function missingSopsConfig(): Finding {
  return finding(
    { file: SOPS_CONFIG_FILE },
    "missing: sops would not know whom to encrypt for; `ktsw secrets init` writes it from ktsw.yaml's secrets.ageRecipients",
    "secrets.sops-config",
  );
}

/** Recipients in a .sops.yaml creation rule's `age` field (comma or whitespace separated). */
export function splitRecipients(value: unknown): string[] {
  return typeof value === "string" ? value.split(/[\s,]+/).filter(Boolean) : [];
}

export function checkSopsConfig(file: string, text: string, expected: readonly string[]): Finding[] {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0)
    return [
      finding(
        { file, line: 1, col: 1 },
        `not valid YAML: ${doc.errors[0]?.message.split("\n")[0]}`,
        "secrets.sops-config",
      ),
    ];
  const rules = (doc.toJS() as { creation_rules?: Record<string, unknown>[] } | null)?.creation_rules ?? [];
  const out: Finding[] = [];
  const rule = rules.findIndex(
    (r) => typeof r.path_regex === "string" && new RegExp(r.path_regex).test("x/cluster-secrets.sops.yaml"),
  );
  if (rule < 0)
    return [
      finding(
        { file, line: 1, col: 1, path: "creation_rules" },
        "no creation rule matches *.sops.yaml files",
        "secrets.sops-config",
      ),
    ];
  const r = rules[rule] as Record<string, unknown>;
  const pos = locate(doc, lines, ["creation_rules", rule, "age"]);
  const actual = splitRecipients(r.age).sort();
  const want = [...expected].sort();
  if (actual.join(",") !== want.join(",")) {
    out.push(
      finding(
        { file, ...pos, path: `creation_rules[${rule}].age` },
        `age recipients ${JSON.stringify(actual)} differ from ktsw.yaml secrets.ageRecipients ${JSON.stringify(want)}`,
        "secrets.sops-config",
      ),
    );
  }
  if (r.encrypted_regex !== ENCRYPTED_REGEX) {
    const p = locate(doc, lines, ["creation_rules", rule]);
    out.push(
      finding(
        { file, ...p, path: `creation_rules[${rule}].encrypted_regex` },
        `encrypted_regex must be ${ENCRYPTED_REGEX} (encrypt Secret values, keep keys readable)`,
        "secrets.sops-config",
      ),
    );
  }
  return out;
}

/** Problems of one *.sops.yaml file: not encrypted, plaintext values, wrong recipients. */
export function checkEncryptedFile(file: string, text: string, expected: readonly string[]): Finding[] {
  const lines = new LineCounter();
  const out: Finding[] = [];
  for (const doc of parseAllDocuments(text, { lineCounter: lines })) {
    if (doc.errors.length > 0) {
      out.push(
        finding({ file, line: 1, col: 1 }, `not valid YAML: ${doc.errors[0]?.message.split("\n")[0]}`, "secrets.sops"),
      );
      continue;
    }
    if (!isMap(doc.contents)) continue;
    const o = doc.toJS() as Record<string, unknown>;
    const sops = o.sops as { mac?: unknown; age?: { recipient?: string }[] } | undefined;
    const start = lines.linePos(doc.contents.range[0]);
    if (!sops || !hasSopsMetadata(o)) {
      out.push(
        finding(
          { file, ...start },
          "not SOPS-encrypted (no sops metadata): run `ktsw secrets encrypt` on it",
          "secrets.sops",
        ),
      );
      continue;
    }
    for (const field of ["data", "stringData"]) {
      for (const [k, v] of Object.entries((o[field] ?? {}) as Record<string, unknown>)) {
        if (isCiphertext(v)) continue;
        const pos = locate(doc, lines, [field, k]);
        out.push(
          finding(
            { file, ...pos, path: `${field}.${k}` },
            "value is not encrypted (expected ENC[...])",
            "secrets.sops",
          ),
        );
      }
    }
    const recipients = (sops.age ?? []).map((a) => a.recipient ?? "").sort();
    const want = [...expected].sort();
    if (recipients.join(",") !== want.join(",")) {
      const pos = locate(doc, lines, ["sops", "age"]);
      out.push(
        finding(
          { file, ...pos, path: "sops.age" },
          `encrypted to ${JSON.stringify(recipients)}, but ktsw.yaml lists ${JSON.stringify(want)}: run \`sops updatekeys\` (ktsw secrets encrypt re-encrypts)`,
          "secrets.recipients",
        ),
      );
    }
  }
  return out;
}
