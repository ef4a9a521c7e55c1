// The files inside a packaged chart (.tgz: a gzipped tar), read in memory so checks can look at
// values.yaml, values.schema.json and the templates without unpacking anything to disk.
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";

/** Path inside the archive (e.g. `cilium/values.yaml`) -> content. */
export type ChartFiles = Map<string, Buffer>;

const cache = new Map<string, ChartFiles>();

/** The chart package's files, read once per process. */
export function readChartFiles(chartFile: string): ChartFiles {
  let files = cache.get(chartFile);
  if (!files) {
    files = untar(gunzipSync(readFileSync(chartFile)));
    cache.set(chartFile, files);
  }
  return files;
}

/** A ustar archive's regular files, with GNU long names (`L`) and PAX paths (`x`) honoured. */
export function untar(tar: Buffer): ChartFiles {
  const files: ChartFiles = new Map();
  let offset = 0;
  let longName: string | undefined;
  while (offset + 512 <= tar.length) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString("utf8")
        .replace(/\0.*$/s, "");
    const size = Number.parseInt(field(124, 12).trim() || "0", 8);
    const type = field(156, 1) || "0";
    const prefix = field(345, 155);
    const body = tar.subarray(offset + 512, offset + 512 + size);
    offset += 512 + Math.ceil(size / 512) * 512;
    if (type === "L") {
      longName = body.toString("utf8").replace(/\0.*$/s, "");
      continue;
    }
    if (type === "x") {
      longName = /\d+ path=([^\n]*)\n/.exec(body.toString("utf8"))?.[1] ?? longName;
      continue;
    }
    const name = longName ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    longName = undefined;
    if (type === "0" || type === "7") files.set(name, Buffer.from(body));
  }
  return files;
}
