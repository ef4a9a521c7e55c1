// `ktsw secrets check`: every *.sops.yaml in the repository is really encrypted (sops metadata with
// a MAC, values ENC[...]), to exactly the age recipients ktsw.yaml lists, and .sops.yaml's rules name
// the same recipients. Pure functions over file texts; the command does the I/O.
import { isMap, LineCounter, parseAllDocuments, parseDocument } from "yaml";
import { locate } from "../config/locate.ts";
import { type Finding, finding } from "../diagnostics.ts";

const CIPHERTEXT = /^ENC\[AES256_GCM,data:.*,type:[a-z]+\]$/;

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
  if (r.encrypted_regex !== "^(data|stringData)$") {
    const p = locate(doc, lines, ["creation_rules", rule]);
    out.push(
      finding(
        { file, ...p, path: `creation_rules[${rule}].encrypted_regex` },
        "encrypted_regex must be ^(data|stringData)$ (encrypt Secret values, keep keys readable)",
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
    if (!sops || typeof sops.mac !== "string") {
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
        if (typeof v === "string" && CIPHERTEXT.test(v)) continue;
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
