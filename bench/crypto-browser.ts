// The crypto bench inside headless Chromium: the same loops as bench/crypto.ts,
// bundled with the project's Vite config and served from 127.0.0.1 (a secure
// context, so WebCrypto is there). No WebRTC, so no network namespace needed.
//
//   node --import tsx bench/crypto-browser.ts
import { pathToFileURL } from 'node:url'
import { chromium } from 'playwright-core'
import { CROSS_ORIGIN_ISOLATION_HEADERS, buildPage, openPage, pageApi, serveDir } from '../test/browser/harness.js'
import { formatCryptoBench, type CryptoBenchResult } from './crypto-core.js'
import type { CryptoBenchPageApi } from './crypto-browser.page.js'

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync']

/** Builds the page, runs the bench in Chromium, and returns its figures. */
export async function runCryptoBrowserBench(): Promise<CryptoBenchResult & { userAgent: string }> {
  const built = await buildPage('bench/crypto-browser.page.ts', { minify: true })
  // Cross-origin isolation gives the page a fine-grained performance.now().
  const server = await serveDir(built.dir, { headers: { ...CROSS_ORIGIN_ISOLATION_HEADERS } })
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS
  })
  try {
    const { page, errors } = await openPage(browser, server.url)
    page.setDefaultTimeout(0)
    const result = await pageApi<CryptoBenchPageApi>(page, 'munroCryptoBench')('run')
    if (errors.length > 0) throw new Error(`page errors:\n${errors.join('\n')}`)
    return result
  } finally {
    await browser.close()
    await server.close()
    await built.cleanup()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const result = await runCryptoBrowserBench()
  const version = /Chrome\/([\d.]+)/.exec(result.userAgent)?.[1] ?? result.userAgent
  console.log(formatCryptoBench(result, `crypto bench, headless Chromium ${version}`))
}
