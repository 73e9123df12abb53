import { describe, expect, it } from 'vitest'
import { MemoryReportPolicy, type ReportFacts } from '../../../signaling-server/report-policy.js'

const LIMITS = { evictAfterReports: 3, reportTenureMs: 5_000, reportWindowMs: 60_000 }

function setup() {
  let now = 100_000
  const policy = new MemoryReportPolicy(LIMITS, () => now)
  const report = (reporterId: string, address: string, extra: Partial<ReportFacts> = {}) =>
    policy.judge({ treeId: 't', reporterId, reporterAddress: address, reporterJoinedAt: 0, accusedId: 'R', accusedIsSource: false, reason: 'invalid-data', ...extra })
  return { policy, report, advance: (ms: number) => (now += ms), now: () => now }
}

describe('MemoryReportPolicy', () => {
  it('evicts on invalid-data from three addresses with tenure', async () => {
    const { report } = setup()
    expect(await report('a', '10.0.0.1')).toEqual({ verdict: 'counted', count: 1 })
    expect(await report('b', '10.0.0.2')).toEqual({ verdict: 'counted', count: 2 })
    expect(await report('c', '10.0.0.3')).toEqual({ verdict: 'evict' })
  })

  it('never counts unresponsive, reports against the source, or reporters without tenure', async () => {
    const { report, now } = setup()
    for (const id of ['a', 'b', 'c', 'd']) expect(await report(id, `10.0.0.${id}`, { reason: 'unresponsive' })).toEqual({ verdict: 'ignored', why: 'never-counts' })
    expect(await report('a', '10.0.0.1', { accusedIsSource: true })).toEqual({ verdict: 'ignored', why: 'source' })
    expect(await report('e', '10.0.0.5', { reporterJoinedAt: now() - 4_999 })).toEqual({ verdict: 'ignored', why: 'no-tenure' })
  })

  it('counts one voice per address and one counted report per reporter per window', async () => {
    const { report, advance } = setup()
    expect(await report('a', '10.0.0.1')).toMatchObject({ verdict: 'counted' })
    expect(await report('b', '10.0.0.1')).toEqual({ verdict: 'ignored', why: 'same-address' })
    expect(await report('a', '10.0.0.1', { accusedId: 'Q' })).toEqual({ verdict: 'ignored', why: 'already-counted' })
    advance(60_000)
    // The window passed: the old vote expired, and the reporter may count again.
    expect(await report('a', '10.0.0.1')).toEqual({ verdict: 'counted', count: 1 })
  })

  it('stops counting reporters that leave, and forgets the accused when it leaves', async () => {
    const { policy, report } = setup()
    await report('a', '10.0.0.1')
    await report('b', '10.0.0.2')
    await policy.peerLeft('t', 'a')
    expect(await report('c', '10.0.0.3')).toEqual({ verdict: 'counted', count: 2 })
    await policy.peerLeft('t', 'R')
    expect(await report('d', '10.0.0.4')).toEqual({ verdict: 'counted', count: 1 })
  })

  it('does not believe a reporter that its own children just reported (it is recovering)', async () => {
    const { report, advance } = setup()
    // 'a' is reported by its child 'x' (unresponsive: 'a' stalled because its own parent R fed it nothing).
    await report('x', '10.0.0.9', { accusedId: 'a', reason: 'unresponsive' })
    expect(await report('a', '10.0.0.1')).toEqual({ verdict: 'ignored', why: 'recovering' })
    advance(5_000)
    expect(await report('a', '10.0.0.1')).toMatchObject({ verdict: 'counted' })
  })
})
