/**
 * Fails the run when any test was skipped or left as todo: CI must run every
 * test, and a skipped test passes while checking nothing.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class FailOnSkipReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = testModules.flatMap((m) =>
      [...m.children.allTests()].filter((t) => t.result().state === 'skipped').map((t) => `${m.moduleId} > ${t.fullName}`),
    );
    if (skipped.length === 0) return;
    process.stderr.write(`\n${skipped.length} test(s) skipped; every test must run:\n  ${skipped.join('\n  ')}\n`);
    process.exitCode = 1;
  }
}
