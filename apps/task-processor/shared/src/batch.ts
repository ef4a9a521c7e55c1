// Group commit for the hot path: calls made while earlier ones are still on the wire are gathered
// and sent as one statement. Each job used to cost its own round trips to Postgres; every round
// trip costs both ends a system call and a wake-up, which on a busy machine is most of a job's
// price. Under light load a call goes out at once (next turn of the event loop) and waits for no
// one; under heavy load the batches grow by themselves, because calls pile up behind the ones in
// flight, and leave the moment a batch returns. Nothing ever lingers to fill a batch: a timer
// would add its wait to every call's latency.

/**
 * What the hot path's statements use: two batches on the wire at once is enough to keep Postgres
 * busy while the next batch gathers; a hundred jobs keeps one statement's arrays small.
 */
export const HOT_PATH_BATCHES = { maxItems: 100, maxInFlight: 2 } as const;

export interface BatchSettings<I> {
  /** most items in one call of `run` */
  maxItems: number;
  /** most calls of `run` at once; more items wait and join the next batch */
  maxInFlight: number;
  /** items with the same key never share a batch (a statement may touch a row only once); the later one waits for the next */
  keyOf?: (item: I) => string;
  /**
   * Whether an error of `run` may be one item's fault (bad data rather than a lost connection):
   * then each item of that batch is tried again on its own, so one bad item fails only its caller.
   */
  mayBeOneItems?: (err: unknown) => boolean;
}

/**
 * Wraps `run` (items in, one result per item out, in the same order) as a function of one item.
 * If `run` fails, every caller of that batch gets its error; other batches are unaffected.
 */
export function batched<I, O>(run: (items: I[]) => Promise<O[]>, settings: BatchSettings<I>): (item: I) => Promise<O> {
  interface Waiting {
    item: I;
    /** sent in a batch of its own (its batch failed in a way that may be its fault) */
    alone?: boolean;
    resolve: (o: O) => void;
    reject: (e: unknown) => void;
  }
  let queue: Waiting[] = [];
  let inFlight = 0;
  let scheduled = false;

  const takeBatch = (): Waiting[] => {
    const batch: Waiting[] = [];
    const keys = new Set<string>();
    const rest: Waiting[] = [];
    for (const w of queue) {
      const key = settings.keyOf?.(w.item);
      const full = batch.length >= settings.maxItems || (batch.length > 0 && (w.alone || batch[0]?.alone));
      if (full || (key !== undefined && keys.has(key))) rest.push(w);
      else {
        batch.push(w);
        if (key !== undefined) keys.add(key);
      }
    }
    queue = rest;
    return batch;
  };

  const send = (batch: Waiting[]) => {
    inFlight += 1;
    let outcome: Promise<O[]>;
    try {
      outcome = run(batch.map((w) => w.item));
    } catch (err) {
      outcome = Promise.reject(err);
    }
    outcome
      .then(
        (results) => {
          if (results.length !== batch.length)
            throw new Error(`a batch of ${batch.length} gave ${results.length} results`);
          batch.forEach((w, i) => {
            w.resolve(results[i] as O);
          });
        },
        (err) => {
          if (batch.length > 1 && settings.mayBeOneItems?.(err)) {
            // Back to the front of the queue, one batch each (the keys keep them apart).
            queue = [...batch.map((w) => ({ ...w, alone: true })), ...queue];
            return;
          }
          for (const w of batch) w.reject(err);
        },
      )
      .catch((err) => {
        for (const w of batch) w.reject(err);
      })
      .finally(() => {
        inFlight -= 1;
        // Calls that waited for this batch leave at once, not a turn of the event loop later:
        // they have waited a whole round trip already.
        flush();
      });
  };

  const flush = () => {
    scheduled = false;
    while (queue.length > 0 && inFlight < settings.maxInFlight) send(takeBatch());
  };

  function schedule() {
    if (scheduled || queue.length === 0 || inFlight >= settings.maxInFlight) return;
    scheduled = true;
    // After the current turn's I/O callbacks: requests read together leave together.
    setImmediate(flush);
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      queue.push({ item, resolve, reject });
      schedule();
    });
}
