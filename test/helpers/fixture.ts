// Per-test teardown for tree tests: whatever a test started is destroyed after it, in order.
import { afterEach, expect } from 'vitest'
import type { MunroSource, MunroViewer } from '../../src/index.js'
import { waitFor, type TestServer } from './signaling.js'

/** What a test started, torn down after each test: viewers, then `cleanups`, then the source and the server. */
export interface TreeFixture {
  server?: TestServer
  source?: MunroSource
  viewers: MunroViewer[]
  cleanups: Array<() => void>
}

export function useTreeFixture(): TreeFixture {
  const f: TreeFixture = { viewers: [], cleanups: [] }
  afterEach(async () => {
    for (const v of f.viewers) v.destroy()
    for (const cleanup of f.cleanups) cleanup()
    f.source?.destroy()
    await f.server?.close()
    f.viewers = []
    f.cleanups = []
    f.source = undefined
    f.server = undefined
  })
  return f
}

/**
 * Waits until every log holds as many messages as `want` (digests, in order),
 * then checks each is exactly `want`. `explain` adds the state to a timeout's error.
 */
export async function expectEveryMessage(logs: string[][], want: string[], what: string, explain?: () => string): Promise<void> {
  await waitFor(() => logs.every((l) => l.length >= want.length), 30_000, what).catch((err: Error) => {
    throw new Error(explain ? `${err.message}: ${explain()}` : err.message)
  })
  for (const log of logs) expect(log).toEqual(want)
}
