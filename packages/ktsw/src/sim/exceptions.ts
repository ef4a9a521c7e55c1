// What cannot become Ready on the sim, and why: each entry is reviewed (a test pins this list), everything not on
// it must become Ready. The sim has no kubelet: no container runs, so nothing that needs a real process, disk or
// network to report Ready can. Keep it short; every entry says what would prove it instead.
export const simExceptions: ReadonlyMap<string, string> = new Map<string, string>([]);
