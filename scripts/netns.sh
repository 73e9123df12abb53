#!/usr/bin/env bash
# Runs a command inside a fresh, isolated network namespace so that WebRTC
# (ICE candidates, mDNS) can never touch the machine's real interfaces.
# Inside: loopback plus one veth pair on 198.18.0.0/24 (a benchmarking range)
# with a default route into it, so ICE has a non-loopback host candidate.
# Set MUNRO_NO_NETNS=1 to skip isolation (only where no namespace can be made).
set -euo pipefail
if [ -n "${MUNRO_IN_NETNS:-}" ] || [ -n "${MUNRO_NO_NETNS:-}" ]; then
  exec "$@"
fi
if ! command -v unshare >/dev/null || ! command -v ip >/dev/null; then
  echo "netns.sh: needs 'unshare' (util-linux) and 'ip' (iproute2); apt-get install -y util-linux iproute2" >&2
  exit 3
fi
setup='ip link set lo up
ip link add v0 type veth peer name v1
ip addr add 198.18.0.1/24 dev v0
ip link set v0 up
ip link set v1 up
ip route add default dev v0'
flags=(-n)
# Without root, a user namespace grants the capabilities the setup needs.
[ "$(id -u)" = 0 ] || flags=(-r -n)
export MUNRO_IN_NETNS=1
exec unshare "${flags[@]}" bash -c "$setup"' && exec "$@"' netns "$@"
