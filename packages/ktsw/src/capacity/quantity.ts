// Kubernetes resource quantities (`100m`, `1.5`, `256Mi`, `1G`, `2e3`) as plain numbers: CPU in
// millicores, memory in bytes. The grammar is apimachinery's resource.Quantity: a signed decimal,
// then a binary suffix (Ki..Ei), a decimal suffix (n, u, m, k, M, G, T, P, E) or an exponent.

const binary: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimal: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};
const QUANTITY = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The quantity in base units (cores, bytes); undefined when it is not a Kubernetes quantity. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = QUANTITY.exec(value.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  const suffix = m[2] ?? "";
  if (suffix in binary) return n * (binary[suffix] ?? 1);
  if (suffix in decimal) return n * (decimal[suffix] ?? 1);
  return n * 10 ** Number(suffix.slice(1));
}

/** CPU in whole millicores, rounded up like the API server rounds a CPU request below 1m. */
export function parseCpu(value: unknown): number | undefined {
  const cores = parseQuantity(value);
  return cores === undefined ? undefined : Math.ceil(Math.round(cores * 1e9) / 1e6);
}

/** Memory in whole bytes. */
export function parseMemory(value: unknown): number | undefined {
  const bytes = parseQuantity(value);
  return bytes === undefined ? undefined : Math.ceil(bytes);
}

export const MiB = 2 ** 20;
export const GiB = 2 ** 30;

/** `250m`, `1.5` (cores): how people write CPU. */
export function formatCpu(millicores: number): string {
  if (millicores === 0) return "0";
  if (millicores % 1000 === 0) return String(millicores / 1000);
  return millicores < 1000 ? `${millicores}m` : `${Number((millicores / 1000).toFixed(2))}`;
}

/** `512Mi`, `1.5Gi`: memory in the binary units charts use. */
export function formatMemory(bytes: number): string {
  if (bytes === 0) return "0";
  if (Math.abs(bytes) >= GiB) return `${Number((bytes / GiB).toFixed(2))}Gi`;
  return `${Number((bytes / MiB).toFixed(0))}Mi`;
}
