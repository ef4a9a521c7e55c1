// What cannot become Ready on the sim, and why: each entry is reviewed (a test pins this list), everything not on
// it must become Ready. Keep it short; every entry says what is missing and what would prove it instead.
//
// The list is empty: the whole tree becomes Ready. It once held NATS and what waited on it (the data and apps layers):
// the tree had no StorageClass, so NATS' JetStream volumes were never provisioned — a real gap the sim found, closed
// by Longhorn and its StorageClasses in the tree; the sim stands in for Longhorn's CSI provisioner (sim/volumes.ts).
export const simExceptions: ReadonlyMap<string, string> = new Map<string, string>([]);
