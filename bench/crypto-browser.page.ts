// Page side of bench/crypto-browser.ts: exposes the shared crypto bench loops.
// In a page the work runs on the main thread (WebCrypto's own threads aside),
// so wall time stands in for CPU time.
import { runCryptoBenchWith, type CryptoBenchResult } from './crypto-core.js'

export interface CryptoBenchPageApi {
  run(): Promise<CryptoBenchResult & { userAgent: string }>
}

const now = () => performance.now()
const api: CryptoBenchPageApi = {
  async run() {
    return { userAgent: navigator.userAgent, ...(await runCryptoBenchWith(now, now)) }
  }
}
;(globalThis as unknown as { munroCryptoBench: CryptoBenchPageApi }).munroCryptoBench = api
;(globalThis as unknown as { __munroReady: boolean }).__munroReady = true
