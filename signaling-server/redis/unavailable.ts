// A Redis that is away (restarting, unreachable, still loading its data) is
// an outage of a moment, not a server bug: the command's failure becomes
// ERR_UNAVAILABLE, which clients retry, instead of ERR_INTERNAL. A reply
// error Redis gives on purpose (a script's own error) stays what it is.
import { ReplyError } from 'ioredis'
import { SignalingErrorCode } from '../../src/protocol/signaling.js'
import { SignalingError } from '../errors.js'

/** Replies a Redis gives while it cannot serve yet. */
const NOT_READY = /^(LOADING|BUSY|TRYAGAIN|MASTERDOWN|CLUSTERDOWN)\b/

export async function orUnavailable<T>(command: Promise<T>): Promise<T> {
  try {
    return await command
  } catch (err) {
    if (err instanceof ReplyError && !NOT_READY.test((err as Error).message)) throw err
    throw new SignalingError(SignalingErrorCode.UNAVAILABLE, 'the shared store is unreachable for a moment; retry shortly')
  }
}
