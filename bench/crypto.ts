// Crypto cost in Node: primitives, and what a source and a receiver spend to
// sign / verify live streams of 16 KiB chunk frames at 2.5 and 10 Mbit/s.
// Target: verifying a 10 Mbit/s stream costs <= 2% of one core.
//
//   node --import tsx bench/crypto.ts
import { pathToFileURL } from 'node:url'
import { formatCryptoBench, runCryptoBenchWith, type CryptoBenchResult } from './crypto-core.js'

const cpuMs = () => {
  const u = process.cpuUsage()
  return (u.user + u.system) / 1000
}

/** Runs the crypto bench in this Node process and returns its figures. */
export async function runCryptoBench(): Promise<Record<string, unknown>> {
  const result: CryptoBenchResult = await runCryptoBenchWith(cpuMs, () => performance.now())
  return { runtime: `node ${process.version}`, ...result }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = (await runCryptoBench()) as unknown as CryptoBenchResult & { runtime: string }
  console.log(formatCryptoBench(result, `crypto bench, ${result.runtime}`))
}
