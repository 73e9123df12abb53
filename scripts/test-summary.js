// Prints vitest's JSON report as one plain closing line ("N passed, N failed")
// and fails when nothing ran, so an empty run can never look green.
import { readFileSync } from 'node:fs'

const file = process.argv[2] ?? '.vitest-report.json'
let report
try {
  report = JSON.parse(readFileSync(file, 'utf8'))
} catch (err) {
  console.error(`test-summary: no readable report at ${file}: ${err.message}`)
  process.exit(1)
}
const passed = report.numPassedTests ?? 0
const failed = (report.numFailedTests ?? 0) + (report.numRuntimeErrorTestSuites ?? 0)
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0)
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`)
if (skipped > 0) {
  console.error("test-summary: skipped tests count as failures here")
  process.exit(1)
}
if (passed === 0) {
  console.error('test-summary: no test ran')
  process.exit(1)
}
process.exit(failed > 0 || report.success === false ? 1 : 0)
