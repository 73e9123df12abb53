// A fixed signature that tells cofactored from cofactorless ed25519 verifiers.
//
// Public key: RFC 8032 test 1. The signature's R is [r]B plus a point of
// order 8, and S was computed honestly for that R, so [8][S]B = [8]R + [8][k]A
// holds (cofactored equation: accept) but [S]B = R + [k]A does not
// (cofactorless equation: reject). Our verdicts are cofactorless, so a WebCrypto
// backend that accepts this vector disagrees with us and must not be used.
// Generated once with noble's Point arithmetic; see test/unit/crypto/ed25519.test.ts.

/** RFC 8032 test 1 public key, hex. */
export const PROBE_PUBLIC_KEY_HEX = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'
/** RFC 8032 test 1 signature of the empty message: every backend must accept it. */
export const PROBE_VALID_SIGNATURE_HEX =
  'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b'
/** Message of the torsion probe (ASCII). */
export const PROBE_TORSION_MESSAGE =
  'munro/v1 ed25519 backend probe: cofactored verifiers accept this, cofactorless reject it'
/** Signature whose R has an order-8 component: cofactorless backends must reject it. */
export const PROBE_TORSION_SIGNATURE_HEX =
  'a5b8cfb30f6a4497a3a1bb1d1c216323f6b67d271848ef4bdf796ffb936585173be3b0588918027f1bed17abf3a370efef125fcbf76891b5a428d1107e38aa0c'
