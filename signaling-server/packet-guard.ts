// The door: socket.io's parser, wrapped so that every raw packet is checked
// before any JSON parsing. The protocol is JSON only, so binary packets and
// attachments are refused outright, and a text packet larger than the limit
// is refused by its length. A refused packet makes socket.io close the
// connection (its parser-error path), so the cost stays one length check.
import * as parser from 'socket.io-parser'
import { SignalingErrorCode } from '../src/protocol/signaling.js'

/** Thrown by the guarded decoder; socket.io hands it to the socket's 'error' listeners before closing. */
export class PacketRefused extends Error {
  constructor(
    readonly code: SignalingErrorCode,
    message: string
  ) {
    super(message)
    this.name = 'PacketRefused'
  }
}

// socket.io-parser packet types (first character of a text packet).
const BINARY_EVENT = String(parser.PacketType.BINARY_EVENT)
const BINARY_ACK = String(parser.PacketType.BINARY_ACK)

/** A parser module for socket.io's `parser` option that refuses binary and oversize packets before decoding them. */
export function guardedParser(maxPacketChars: number): typeof parser {
  class GuardedDecoder extends parser.Decoder {
    override add(obj: unknown): void {
      if (typeof obj !== 'string') throw new PacketRefused(SignalingErrorCode.BAD_PAYLOAD, 'binary packets are not part of the protocol')
      if (obj.length > maxPacketChars) throw new PacketRefused(SignalingErrorCode.PAYLOAD_TOO_LARGE, `packet of ${obj.length} characters; the limit is ${maxPacketChars}`)
      if (obj.startsWith(BINARY_EVENT) || obj.startsWith(BINARY_ACK)) {
        throw new PacketRefused(SignalingErrorCode.BAD_PAYLOAD, 'binary attachments are not part of the protocol')
      }
      super.add(obj)
    }
  }
  return { ...parser, Decoder: GuardedDecoder }
}
