// Regenerates frames.json: one golden encoding per frame type (and variant),
// computed once with src/wire/frames.ts and committed. Byte fields are hex.
//   node --import tsx test/vectors/generate-frames.ts > test/vectors/frames.json
import { bytesToHex } from '../../src/crypto/bytes.js'
import { type Frame, FrameType, encodeFrame } from '../../src/wire/frames.js'

const fill = (n: number, start: number) => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff)
const EPOCH = 1_700_000_000_000
const frames: Array<{ name: string; frame: Frame }> = [
  {
    name: 'handshake, resume at index',
    frame: { type: FrameType.HANDSHAKE, treeKey: fill(32, 0xa0), resume: { kind: 'index', index: 2 ** 33 + 17, epoch: EPOCH } }
  },
  { name: 'handshake, latest start point', frame: { type: FrameType.HANDSHAKE, treeKey: fill(32, 0xa0), resume: { kind: 'latest' } } },
  {
    name: 'munro',
    frame: { type: FrameType.MUNRO, epoch: EPOCH, start: 4096, count: 3, span: 4, timestamp: 1_700_000_000_123, root: fill(32, 0x10), signature: fill(64, 0x40) }
  },
  {
    name: 'chunk, span 4',
    frame: { type: FrameType.CHUNK, index: 4098, munroStart: 4096, span: 4, flags: 0x06, proof: fill(64, 0x80), payload: new TextEncoder().encode('hello munro') }
  },
  { name: 'chunk, span 1, empty payload', frame: { type: FrameType.CHUNK, index: 7, munroStart: 7, span: 1, flags: 0x07, proof: new Uint8Array(0), payload: new Uint8Array(0) } },
  {
    name: 'init',
    frame: { type: FrameType.INIT, epoch: EPOCH, seq: 3, atIndex: 4096, timestamp: 1_700_000_000_100, signature: fill(64, 0x40), payload: new TextEncoder().encode('init segment') }
  },
  { name: 'keepalive', frame: { type: FrameType.KEEPALIVE, timestamp: 1_700_000_000_000 } }
]

const json = (f: Frame) => JSON.parse(JSON.stringify(f, (_k, v) => (v instanceof Uint8Array ? bytesToHex(v) : v)))
process.stdout.write(
  JSON.stringify({ generator: 'test/vectors/generate-frames.ts', frames: frames.map(({ name, frame }) => ({ name, frame: json(frame), hex: bytesToHex(encodeFrame(frame)) })) }, null, 2) +
    '\n'
)
