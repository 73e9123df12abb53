// `npm run simulate`: the churn simulation of the real placement code, both
// policies side by side for k in {2, 3, 4, 8}, one seed, printed as Markdown
// tables (--json for the raw reports).
//
//   npm run simulate -- [--peers 100000] [--seed 1] [--warmup 3600] [--measure 3600] [--k 2,3,4,8] [--json]
import { Command, Option } from 'commander'
import { PLACEMENT_POLICIES } from '../../signaling-server/registry/peer-tree.js'
import { runChurn, type RunReport } from './churn.js'
import { DEFAULT_WORKLOAD } from './model.js'
import { formatReport } from './report.js'

const positiveInt = (value: string): number => {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 1) throw new Error(`expected a positive integer, got ${value}`)
  return n
}

const program = new Command('simulate')
  .description('Churn simulation of munro-signal placement (no sockets): depth, disruption, re-placements and delay per k and policy')
  .addOption(new Option('--peers <n>', 'viewers in the tree (steady state)').default(100_000).argParser(positiveInt))
  .addOption(new Option('--seed <n>', 'PRNG seed (same seed, same figures)').default(1).argParser(positiveInt))
  .addOption(new Option('--warmup <s>', 'simulated seconds of churn before measuring').default(3600).argParser(positiveInt))
  .addOption(new Option('--measure <s>', 'simulated seconds measured').default(3600).argParser(positiveInt))
  .addOption(new Option('--k <list>', 'fan-outs to simulate, comma separated').default([2, 3, 4, 8]).argParser((v) => v.split(',').map(positiveInt)))
  .addOption(new Option('--k1 <n>', "the source's fan-out (munro-signal's default)").default(10).argParser(positiveInt))
  .option('--json', 'print the raw reports as JSON instead of tables')
  .parse()

const opts = program.opts<{ peers: number; seed: number; warmup: number; measure: number; k: number[]; k1: number; json?: boolean }>()
const reports: RunReport[] = []
for (const k of opts.k) {
  for (const policy of PLACEMENT_POLICIES) {
    const report = await runChurn({ peers: opts.peers, k, k1: opts.k1, policy, reportUpload: true, seed: opts.seed, warmupS: opts.warmup, measureS: opts.measure, snapshots: 6 })
    reports.push(report)
    process.stderr.write(`k=${k} ${policy}: ${(report.wallMs / 1000).toFixed(1)} s\n`)
  }
}
process.stdout.write(opts.json ? JSON.stringify(reports, null, 2) + '\n' : formatReport(reports, { ...opts, workload: DEFAULT_WORKLOAD }))
