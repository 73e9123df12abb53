import { createRequire } from 'node:module'
import type { WebRtcImplementation } from '../../src/transport/peer-link.js'

/** node-webrtc for Node peers; tests run inside scripts/netns.sh. */
export const wrtc = createRequire(import.meta.url)('@roamhq/wrtc') as WebRtcImplementation
