import type { Reporter, TestModule, Vitest } from "vitest/node";

// Prints one plain closing line, `tests: N passed, N failed, N skipped`, that any CI log reader
// understands, whatever it knows of vitest's own summary format; before it, the shuffle seed, so a
// failure that depends on test order can be replayed.
export default class SummaryReporter implements Reporter {
  private seed: number | undefined;

  onInit(vitest: Vitest): void {
    this.seed = vitest.config.sequence.shuffle ? vitest.config.sequence.seed : undefined;
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") passed++;
        else if (state === "failed") failed++;
        else skipped++;
      }
    }
    if (this.seed !== undefined)
      process.stdout.write(
        `\ntest order: shuffled with seed ${this.seed} (replay: KTSW_TEST_SEED=${this.seed} npm test)`,
      );
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
