// Every peer:report the server handles, as its report policy saw it: who
// reported whom and why. Tests assert on it that only the guilty peer was reported.
import type { ReportReason } from '../../src/protocol/signaling.js'
import { DEFAULT_LIMITS, MemoryReportPolicy } from '../../signaling-server/index.js'

export interface RecordedReport {
  reporter: string
  accused: string
  reason: ReportReason
}

export function recordReports(): { reportPolicy: MemoryReportPolicy; reports: RecordedReport[] } {
  const reportPolicy = new MemoryReportPolicy(DEFAULT_LIMITS)
  const reports: RecordedReport[] = []
  const judge = reportPolicy.judge.bind(reportPolicy)
  reportPolicy.judge = (facts) => {
    reports.push({ reporter: facts.reporterId, accused: facts.accusedId, reason: facts.reason })
    return judge(facts)
  }
  return { reportPolicy, reports }
}
