// Regenerates merkle.json: fixed trees with their leaf hashes, roots and
// proofs, computed once with src/crypto/merkle.ts and committed so any change
// to the hashing is caught. merkle.test.ts recomputes them independently
// with node:crypto. Run with
//   node --import tsx test/vectors/generate-merkle.ts > test/vectors/merkle.json
import { bytesToHex } from '../../src/crypto/bytes.js'
import { MerkleTree, leafHash } from '../../src/crypto/merkle.js'

const enc = new TextEncoder()
const trees = [
  { name: 'one leaf', span: 1, first: 0, count: 1 },
  { name: 'span 4, 3 chunks (one padding leaf)', span: 4, first: 10, count: 3 },
  { name: 'span 8, full', span: 8, first: 4096, count: 8 },
  { name: 'span 32, 5 chunks, index above 2^32', span: 32, first: 2 ** 40 + 7, count: 5 }
].map(({ name, span, first, count }) => {
  const leaves = Array.from({ length: count }, (_, p) => ({
    index: first + p,
    flags: p === 0 ? 0x05 : p === count - 1 ? 0x02 : 0,
    payload: bytesToHex(enc.encode(`munro chunk ${first + p}`))
  }))
  const hashes = leaves.map((l) => leafHash(l.index, l.flags, new Uint8Array(Buffer.from(l.payload, 'hex'))))
  const tree = new MerkleTree(hashes, span)
  return {
    name,
    span,
    leaves: leaves.map((l, p) => ({ ...l, leafHash: bytesToHex(hashes[p]!), proof: bytesToHex(tree.proof(p)) })),
    root: bytesToHex(tree.root)
  }
})
process.stdout.write(JSON.stringify({ generator: 'test/vectors/generate-merkle.ts', trees }, null, 2) + '\n')
