// The blame policy alone: what is reported, and when a flapping parent stops
// being given the benefit of the doubt.
import { describe, expect, it } from 'vitest'
import { FLAP_LIMIT, ParentHealth } from '../../../src/relay/parent-health.js'

const closed = { kind: 'closed', code: undefined } as const

describe('ParentHealth', () => {
  it('reports bad data as invalid-data and silence as unresponsive, at once', () => {
    const h = new ParentHealth()
    expect(h.failed({ kind: 'invalid', code: 'ERR_BAD_PROOF' }, true).report).toBe('invalid-data')
    expect(h.failed({ kind: 'stall' }, true).report).toBe('unresponsive')
  })

  it('never reports a stall as invalid-data: a frozen peer is moved away from, not evicted', () => {
    const h = new ParentHealth()
    for (let i = 0; i < 20; i++) expect(h.failed({ kind: 'stall' }, i % 2 === 0).report).toBe('unresponsive')
  })

  it('retries one close without blame, and a parent that keeps bringing data is never blamed for closes', () => {
    const h = new ParentHealth()
    for (let i = 0; i < 10; i++) expect(h.failed(closed, true).report).toBeNull()
  })

  it('reports a parent whose sessions keep closing without progress, after FLAP_LIMIT of them, and again every FLAP_LIMIT', () => {
    const h = new ParentHealth()
    const reports = Array.from({ length: 3 * FLAP_LIMIT }, () => h.failed(closed, false).report)
    expect(reports.filter((r) => r !== null)).toEqual(['unresponsive', 'unresponsive', 'unresponsive'])
    expect(reports[FLAP_LIMIT - 1]).toBe('unresponsive')
    expect(reports.slice(0, FLAP_LIMIT - 1).every((r) => r === null)).toBe(true)
  })

  it('backs off from 200 ms to at most 2 s, and a new parent starts afresh', () => {
    const h = new ParentHealth()
    const delays = Array.from({ length: 8 }, () => h.failed(closed, false).retryInMs)
    expect(delays).toEqual([200, 400, 800, 1600, 2000, 2000, 2000, 2000])
    h.reset()
    expect(h.failed(closed, false)).toEqual({ report: null, retryInMs: 200 })
  })
})
