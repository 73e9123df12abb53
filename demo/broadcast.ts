// The broadcast page: camera or screen → munro source → a shareable watch link.
import { broadcast, createSource, type Broadcast, type MunroSource } from '../src/index.js'
import { $, drawTreeLive, kbps, peerRows, showError, showStats, signalUrl } from './common.js'

const params = new URLSearchParams(location.search)
/** `?video=320x240` asks the camera for that size (the tests use it to spare CPU), `?bitrate=2500000` sets the video bitrate. */
const [width, height] = (params.get('video') ?? '640x360').split('x').map(Number)
const videoBitsPerSecond = params.get('bitrate') ? Number(params.get('bitrate')) : undefined
/** What the page exposes to tests and to the curious (devtools: `__demo`). */
const demo: Record<string, unknown> = {}
;(globalThis as unknown as { __demo: typeof demo }).__demo = demo

async function checkServer(): Promise<void> {
  try {
    const health = (await (await fetch(`${signalUrl}/healthz`)).json()) as { trees: number; peers: number }
    $('server').textContent = `ok: ${health.trees} tree(s), ${health.peers} peer(s)`
  } catch (err) {
    $('server').textContent = 'unreachable'
    showError({ code: 'ERR_SERVER_UNREACHABLE', message: `${signalUrl} does not answer (${(err as Error).message})` }, 'signaling server')
  }
}

async function start(kind: 'camera' | 'screen'): Promise<void> {
  const stream =
    kind === 'camera'
      ? await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: width }, height: { ideal: height } }, audio: true })
      : await navigator.mediaDevices.getDisplayMedia({ video: true, audio: true })
  const preview = $<HTMLVideoElement>('preview')
  preview.srcObject = stream
  const source = await createSource({ signal: signalUrl, k1: Number($<HTMLInputElement>('k1').value), k: Number($<HTMLInputElement>('k').value) })
  let cast: Broadcast
  try {
    cast = broadcast(source, stream, { videoBitsPerSecond })
  } catch (err) {
    source.destroy()
    throw err
  }
  Object.assign(demo, { source, broadcast: cast, stream })
  cast.on('error', (err) => showError(err, 'recording'))
  cast.on('ended', () => ($('state').textContent = 'stopped'))
  source.on('error', (err) => showError(err, 'source'))
  source.on('tree-ended', (e) => showError({ code: 'TREE_ENDED', message: e.reason }, 'the tree ended'))
  live(source, cast, stream)
}

function live(source: MunroSource, cast: Broadcast, stream: MediaStream): void {
  $('controls').hidden = true
  $('live').hidden = false
  const url = new URL(`watch.html?tree=${source.treeId}`, location.href)
  if (params.get('signal')) url.searchParams.set('signal', signalUrl)
  $<HTMLInputElement>('link').value = url.href
  $('copy').onclick = () => {
    $<HTMLInputElement>('link').select()
    void navigator.clipboard.writeText(url.href).then(
      () => ($('copy').textContent = 'Copied'),
      () => document.execCommand('copy')
    )
  }
  $('stop').onclick = () => {
    cast.destroy()
    source.destroy()
    for (const t of stream.getTracks()) t.stop()
    $('state').textContent = 'ended'
  }
  let viewers: number | null = null
  drawTreeLive(source.treeId, () => source.stats().peerId, (n) => (viewers = n))
  setInterval(() => {
    const b = cast.stats()
    const v = $<HTMLVideoElement>('preview')
    showStats([
      ...peerRows(source.stats(), viewers),
      ['bitrate', kbps(b.bitrateBps)],
      ['recording', `${b.mimeType}, ${v.videoWidth}×${v.videoHeight}`],
      ['segments sent (keyframes)', `${b.messages} (${b.startPoints})`]
    ])
  }, 500)
}

void checkServer()
for (const kind of ['camera', 'screen'] as const) {
  $(kind).onclick = () => void start(kind).catch((err) => showError(err, `could not broadcast the ${kind}`))
}
;(globalThis as unknown as { __munroReady: boolean }).__munroReady = true
