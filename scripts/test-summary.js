// Prints the test reports of one run (vitest's JSON and Playwright's JSON) as
// one plain closing line ("N passed, N failed, N skipped") and fails on any
// failure or skip, on a missing report, and when nothing ran, so an empty or
// half-run suite can never look green.
//   node scripts/test-summary.js [.vitest-report.json] [.playwright-report.json]
import { readFileSync } from 'node:fs'

const files = process.argv.length > 2 ? process.argv.slice(2) : ['.vitest-report.json', '.playwright-report.json']
let passed = 0
let failed = 0
let skipped = 0
let unreadable = false
for (const file of files) {
  let report
  try {
    report = JSON.parse(readFileSync(file, 'utf8'))
  } catch (err) {
    console.error(`test-summary: no readable report at ${file}: ${err.message}`)
    unreadable = true
    continue
  }
  if (report.stats && 'expected' in report.stats) {
    // Playwright: expected = passed; flaky passed only on a retry, which counts as a failure here.
    passed += report.stats.expected ?? 0
    failed += (report.stats.unexpected ?? 0) + (report.stats.flaky ?? 0) + (report.errors?.length ?? 0)
    skipped += report.stats.skipped ?? 0
  } else {
    passed += report.numPassedTests ?? 0
    failed += (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0) + (report.success === false && !report.numFailedTests ? 1 : 0)
    skipped += (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
if (skipped > 0) console.error('test-summary: skipped tests count as failures here')
if (passed === 0) console.error('test-summary: no test ran')
process.exit(unreadable || failed > 0 || skipped > 0 || passed === 0 ? 1 : 0)
