// `npm run bench`: every benchmark, one after the other, in one process, inside
// the network namespace. Prints each section as it finishes. Figures from a
// shared machine are noisy: compare ratios measured within one run.
//
//   npm run bench                 # everything
//   npm run bench -- crypto tree  # only some sections
import os from 'node:os'
import { formatCryptoBench, type CryptoBenchResult } from './crypto-core.js'
import { runCryptoBench } from './crypto.js'
import { runCryptoBrowserBench } from './crypto-browser.js'
import { formatLatencyBench, runLatencyBench } from './latency.js'
import { runPlacementBench } from './placement.js'
import { formatPackageSizeBench, runPackageSizeBench } from './package-size.js'
import { formatRawRelayBench, runRawRelayBench } from './raw-relay-browser.js'
import { formatSdkRelayBench, runSdkRelayBench } from './sdk-relay-browser.js'
import { formatTreeBench, runTreeBench } from './tree.js'
import { formatVideoBench, runVideoBench } from './video-browser.js'

const sections: Record<string, () => Promise<string>> = {
  crypto: async () => {
    const r = (await runCryptoBench()) as unknown as CryptoBenchResult & { runtime: string }
    return formatCryptoBench(r, `crypto, ${r.runtime}`)
  },
  'crypto-browser': async () => {
    const r = await runCryptoBrowserBench()
    return formatCryptoBench(r, `crypto, ${r.userAgent}`)
  },
  placement: async () => {
    const r = await runPlacementBench()
    return ['placement (PeerTree, one tree)', ...Object.entries(r).map(([k, v]) => `  ${k.padEnd(28)} ${String(v)}`)].join('\n')
  },
  'raw-relay': async () => formatRawRelayBench(await runRawRelayBench()),
  'sdk-relay': async () => formatSdkRelayBench(await runSdkRelayBench()),
  signaling: async () => (await import('./signaling.js')).runSignalingBench(),
  tree: async () => formatTreeBench(await runTreeBench()),
  'package-size': async () => formatPackageSizeBench(await runPackageSizeBench()),
  video: async () => formatVideoBench(await runVideoBench()),
  latency: async () => formatLatencyBench(await runLatencyBench())
}

const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'))
for (const name of wanted) if (!(name in sections)) throw new Error(`unknown section ${name}; known: ${Object.keys(sections).join(', ')}`)
console.log(`munro bench — ${os.cpus().length} × ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, node ${process.version}, ${new Date().toISOString()}\n`)
for (const [name, run] of Object.entries(sections)) {
  if (wanted.length > 0 && !wanted.includes(name)) continue
  const t0 = performance.now()
  console.log(`## ${name}\n${await run()}\n(${((performance.now() - t0) / 1000).toFixed(1)} s)\n`)
}
process.exit(0)
