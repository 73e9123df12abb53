// The watch page: join the tree named in `?tree=` and play its video.
import { joinTree, play, type MunroViewer, type Player } from '../src/index.js'
import { $, clearError, drawTreeLive, kbps, ms, peerRows, showError, showStats, signalUrl } from './common.js'

const treeId = new URLSearchParams(location.search).get('tree')
/** What the page exposes to tests and to the curious (devtools: `__demo`). */
const demo: Record<string, unknown> = {}
;(globalThis as unknown as { __demo: typeof demo }).__demo = demo
const state = (text: string) => ($('state').textContent = text)

async function watch(): Promise<void> {
  if (!treeId) throw { code: 'ERR_BAD_TREE_ID', message: 'this link names no tree (?tree=… is missing)' }
  demo.joinStartedAt = Date.now()
  const viewer = await joinTree(treeId, { signal: signalUrl })
  const video = $<HTMLVideoElement>('video')
  const player = play(viewer, video)
  Object.assign(demo, { viewer, player })
  state('waiting for a keyframe…')
  viewer.on('tree-ended', (e) => {
    showError({ code: 'TREE_ENDED', message: `${e.reason}: the broadcast is over` }, 'the tree ended')
    state('ended')
  })
  viewer.on('error', (err) => showError(err, 'viewer'))
  player.on('playing', () => {
    demo.firstFrameAt ??= Date.now()
    clearError()
    state('live')
  })
  player.on('waiting', (reason) => state(reason === 'gap' ? 'the stream skipped ahead; waiting for a keyframe…' : 'waiting for a keyframe…'))
  player.on('error', (err) => showError(err, 'video'))
  player.on('autoplay-blocked', () => state('press play to start'))
  $('unmute').hidden = false
  $('unmute').onclick = () => {
    video.muted = !video.muted
    $('unmute').textContent = video.muted ? 'Unmute' : 'Mute'
  }
  showLive(viewer, player)
}

function showLive(viewer: MunroViewer, player: Player): void {
  let viewers: number | null = null
  drawTreeLive(viewer.treeId, () => viewer.stats().peerId, (n) => (viewers = n))
  setInterval(() => {
    const p = player.stats()
    showStats([
      ...peerRows(viewer.stats(), viewers),
      ['live latency', ms(p.liveLatencyMs)],
      ['bitrate', kbps(p.bitrateBps)],
      ['video', p.videoWidth ? `${p.videoWidth}×${p.videoHeight}, ${p.framesDecoded} frames (${p.framesDropped} dropped)` : '–'],
      ['codec', p.mimeType ?? '–'],
      ['time to first frame', ms(p.firstFrameMs)]
    ])
  }, 500)
}

void watch().catch((err) => {
  showError(err, 'could not join')
  state('not playing')
})
;(globalThis as unknown as { __munroReady: boolean }).__munroReady = true
