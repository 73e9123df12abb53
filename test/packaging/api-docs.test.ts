// `npm run docs`: the API reference is generated from the public types (TypeDoc).
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, it } from 'vitest'

it('npm run docs generates the API reference: createSource, joinTree and the signaling error codes', async () => {
  const out = await mkdtemp(join(tmpdir(), 'munro-api-'))
  try {
    await promisify(execFile)('npm', ['run', 'docs', '--', '--out', out, '--logLevel', 'Error'], { timeout: 120_000 })
    const createSource = await readFile(join(out, 'functions/createSource.html'), 'utf8')
    expect(createSource).toContain('SourceOptions')
    expect(await readFile(join(out, 'functions/joinTree.html'), 'utf8')).toContain('ViewerOptions')
    expect(await readFile(join(out, 'variables/SignalingErrorCode.html'), 'utf8')).toContain('ERR_SIGNAL_UNREACHABLE')
  } finally {
    await rm(out, { recursive: true, force: true })
  }
}, 150_000)
