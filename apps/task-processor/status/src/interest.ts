// Which jobs' status events this replica receives. Every job makes three events; a replica that took them all
// paid for each one (a wake-up, a read, a frame parsed) whatever it did with them, and every added replica paid
// again. It needs a job's events only while someone watches the job live or while it holds a cached copy of
// the job that can still change, so it subscribes to exactly those jobs (`events.jobs.<id>.*`), one NATS
// subscription per job however many reasons it has, and drops the subscription with the last reason.

/** Opens the subscription to one job's events; the function it returns closes it. */
export type OpenJobEvents = (id: string) => () => void;

export class JobInterest {
  private readonly holds = new Map<string, { reasons: number; close: () => void }>();

  constructor(
    private readonly open: OpenJobEvents,
    /** Resolves once the server has every subscription opened so far (NATS: a flush, one round trip). */
    private readonly settled: () => Promise<void>,
  ) {}

  /** One more reason to receive job `id`'s events. */
  want(id: string): void {
    const hold = this.holds.get(id);
    if (hold) hold.reasons++;
    else this.holds.set(id, { reasons: 1, close: this.open(id) });
  }

  /** One reason fewer; the subscription closes with the last one. */
  release(id: string): void {
    const hold = this.holds.get(id);
    if (!hold) return;
    if (--hold.reasons > 0) return;
    this.holds.delete(id);
    hold.close();
  }

  /** `want` for `forMs`, then `release` (a timer that never keeps the process alive). */
  wantFor(id: string, forMs: number): void {
    this.want(id);
    setTimeout(() => this.release(id), forMs).unref();
  }

  /**
   * Resolves once the server sends this replica every event of the jobs wanted so far: a state read after it
   * cannot miss a transition, since any later one arrives as an event.
   */
  receiving(): Promise<void> {
    return this.settled();
  }

  /** How many jobs this replica receives the events of (a gauge). */
  get size(): number {
    return this.holds.size;
  }

  /** Closes every subscription (shutdown). */
  closeAll(): void {
    for (const hold of this.holds.values()) hold.close();
    this.holds.clear();
  }
}
