// The local S3 server the drills run: gofakes3 (MIT), a stand-in for the tree's SeaweedFS (data/seaweedfs), whose
// build from its module costs a cold CI far more. One place says how it is started, for every drill that needs one.

/** gofakes3's arguments: objects kept under `dir`, `bucket` made at start (as the chart's bucket Job makes it in the
 *  cluster), listening on 127.0.0.1 only. It checks no signature: any key pair is accepted. */
export const gofakes3Args = (port: number, dir: string, bucket: string): string[] => [
  ...["-host", `127.0.0.1:${port}`],
  ...["-backend", "fs", "-fs.path", dir, "-fs.create"],
  ...["-initialbucket", bucket, "-quiet"],
];

/** The key pair the drills' clients sign with (any pair works; these name themselves in logs). */
export const standInKeys = { accessKeyId: "drill", secretAccessKey: "drill-secret-key" } as const;
