import { describe, expect, it } from 'vitest'
import * as v from 'valibot'
import { JoinTreeSchema, SIGNALING_PROTOCOL_VERSION } from '../src/protocol/signaling.js'

describe('signaling contract', () => {
  it('rejects a join with an unknown field', () => {
    const ok = v.safeParse(JoinTreeSchema, { version: SIGNALING_PROTOCOL_VERSION, treeId: 'a'.repeat(43) })
    const bad = v.safeParse(JoinTreeSchema, { version: SIGNALING_PROTOCOL_VERSION, treeId: 'a'.repeat(43), extra: 1 })
    expect(ok.success).toBe(true)
    expect(bad.success).toBe(false)
  })
})
