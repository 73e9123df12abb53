// `npm run docs`: the API reference is generated from the public types (TypeDoc).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('npm run docs generates the API reference with no warning: every type the public API mentions is in it', async () => {
  const out = await mkdtemp(join(tmpdir(), 'munro-api-'))
  try {
    const { stdout, stderr } = await promisify(execFile)('npm', ['run', 'docs', '--', '--out', out], { timeout: 120_000 })
    // TypeDoc tags each diagnostic `[warning]` / `[error]` (in colour); npm's own `npm warn` lines are not TypeDoc's.
    const diagnostics = `${stdout}\n${stderr}`.replace(/\x1b\[[0-9;]*m/g, '').split('\n').filter((line) => /\[(warning|error)\]/.test(line))
    expect(diagnostics).toEqual([])
    const createSource = await readFile(join(out, 'functions/createSource.html'), 'utf8')
    expect(createSource).toContain('SourceOptions')
    expect(await readFile(join(out, 'functions/joinTree.html'), 'utf8')).toContain('ViewerOptions')
    expect(await readFile(join(out, 'variables/SignalingErrorCode.html'), 'utf8')).toContain('ERR_SIGNAL_UNREACHABLE')
    // A placement (viewer and client events) is shown with its fields, not as an inferred schema type.
    expect(await readFile(join(out, 'interfaces/Placement.html'), 'utf8')).toContain('depth')
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}, 150_000)
