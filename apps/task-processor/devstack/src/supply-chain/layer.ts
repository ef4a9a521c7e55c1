// A single-layer tarball written in memory (pure): the image content the signing proof pushes. A POSIX ustar archive
// of regular files is all an OCI layer needs, so no tar program and no container engine take part.

export interface LayerFile {
  path: string;
  content: string | Buffer;
  /** octal permission bits; 0o644 unless given */
  mode?: number;
}

const BLOCK = 512;

function octal(value: number, width: number): string {
  // width - 1 digits and a NUL, as ustar numeric fields are
  return `${value.toString(8).padStart(width - 1, "0")}\0`;
}

function header(path: string, size: number, mode: number): Buffer {
  if (Buffer.byteLength(path) > 100) throw new Error(`layer file ${path}: path longer than ustar's 100 bytes`);
  const h = Buffer.alloc(BLOCK);
  h.write(path, 0, "utf8");
  h.write(octal(mode, 8), 100, "ascii");
  h.write(octal(0, 8), 108, "ascii"); // uid
  h.write(octal(0, 8), 116, "ascii"); // gid
  h.write(octal(size, 12), 124, "ascii");
  h.write(octal(0, 12), 136, "ascii"); // mtime 0: the same files give the same layer digest
  h.write("        ", 148, "ascii"); // checksum field counts as spaces while summing
  h.write("0", 156, "ascii"); // regular file
  h.write("ustar\0", 257, "ascii");
  h.write("00", 263, "ascii");
  let sum = 0;
  for (const byte of h) sum += byte;
  h.write(`${sum.toString(8).padStart(6, "0")}\0 `, 148, "ascii");
  return h;
}

/** The tar archive of `files`, in the order given. */
export function tarLayer(files: readonly LayerFile[]): Buffer {
  const parts: Buffer[] = [];
  for (const f of files) {
    const body = typeof f.content === "string" ? Buffer.from(f.content) : f.content;
    parts.push(
      header(f.path, body.length, f.mode ?? 0o644),
      body,
      Buffer.alloc((BLOCK - (body.length % BLOCK)) % BLOCK),
    );
  }
  parts.push(Buffer.alloc(BLOCK * 2)); // end of archive
  return Buffer.concat(parts);
}
