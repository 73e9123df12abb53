import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { JoinTreeSchema, PlacementSchema, SIGNALING_PROTOCOL_VERSION as V } from '../../../src/protocol/signaling.js'

const treeId = 'A'.repeat(42) + 'E' // canonical: the last character carries zero padding bits

describe('signaling contract schemas', () => {
  it('accept a well-formed join and refuse unknown fields', () => {
    expect(v.safeParse(JoinTreeSchema, { version: V, treeId }).success).toBe(true)
    expect(v.safeParse(JoinTreeSchema, { version: V, treeId, extra: 1 }).success).toBe(false)
  })

  it('refuse non-canonical base64url, wrong lengths and wrong alphabets', () => {
    for (const bad of ['A'.repeat(42) + 'B', 'A'.repeat(42), 'A'.repeat(42) + '+', 'A'.repeat(42) + '=']) {
      expect(v.safeParse(JoinTreeSchema, { version: V, treeId: bad }).success, bad).toBe(false)
    }
  })

  it('cap a placement at the maximum fan-out', () => {
    const peer = 'A'.repeat(22)
    const placement = { treeId, peerId: peer, parent: null, depth: 0, children: Array(64).fill(peer), version: 1 }
    expect(v.safeParse(PlacementSchema, placement).success).toBe(true)
    expect(v.safeParse(PlacementSchema, { ...placement, children: Array(65).fill(peer) }).success).toBe(false)
    expect(v.safeParse(PlacementSchema, { ...placement, depth: -1 }).success).toBe(false)
  })
})
