// Every peer:report the server handles, as the registry saw it: who reported
// whom and why. Tests assert on it that only the guilty peer was reported.
import type { ReportReason } from '../../src/protocol/signaling.js'
import { MemoryTreeRegistry } from '../../signaling-server/index.js'

export interface RecordedReport {
  reporter: string
  accused: string
  reason: ReportReason
}

export function recordReports(): { registry: MemoryTreeRegistry; reports: RecordedReport[] } {
  const registry = new MemoryTreeRegistry()
  const reports: RecordedReport[] = []
  const report = registry.report.bind(registry)
  registry.report = (treeId, reporter, accused, reason) => {
    reports.push({ reporter, accused, reason })
    return report(treeId, reporter, accused, reason)
  }
  return { registry, reports }
}
