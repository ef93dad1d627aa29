#!/usr/bin/env bash
# memcached's own test suite (its t/*.t files, from the source of the memcached version installed
# here) against `./arena serve`: each test starts the server through memcached-debug above, with
# the test's own options, and speaks to it as it would to memcached.
#   arena-server/memcached-suite/run.sh            the tests in tests.txt; exit 1 if one fails
#   arena-server/memcached-suite/run.sh t/cas.t    chosen tests
# Each runs twice: servers on unix sockets (as the suite starts them when the server has them,
# but for tests that ask for TCP), then all on TCP; SUITE_TRANSPORTS="tcp" runs one pass.
# Needs perl (prove, Test::More), curl, xz and memcached (for its version); the source comes from
# deb.debian.org. Exit 2, having run nothing, when one of those is missing.
set -euo pipefail
for tool in prove curl xz memcached; do
  if ! command -v "$tool" >/dev/null; then
    echo "memcached-suite: $tool is missing; nothing run" >&2
    exit 2
  fi
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
WORK="$ROOT/arena-server/target/memcached-suite"
VERSION="$(memcached -V 2>/dev/null | awk '{print $2}')" || true
VERSION="${VERSION:-1.6.18}"
SRC="$WORK/memcached-$VERSION"

if [ ! -d "$SRC/t" ]; then
  mkdir -p "$WORK"
  url="http://deb.debian.org/debian/pool/main/m/memcached/memcached_$VERSION.orig.tar.xz"
  if ! curl -fsS -o "$WORK/src.tar.xz" "$url"; then
    echo "memcached-suite: could not fetch $url; nothing run" >&2
    exit 2
  fi
  tar -xJf "$WORK/src.tar.xz" -C "$WORK"
fi
install -m 755 "$HERE/memcached-debug" "$SRC/memcached-debug"
# The suite runs the server under memcached's timedrun helper (built by its make): coreutils' timeout does that.
printf '#!/bin/sh\nt=$1; shift\nexec timeout "$t" "$@"\n' > "$SRC/timedrun"
chmod 755 "$SRC/timedrun"

"$ROOT/arena" --version >/dev/null # builds what is missing, once, before the tests time their starts
export SUITE_ROOT="$ROOT"
export SUITE_STORES="$WORK/stores"
export SUITE_LOG="$WORK/serve.log" # what each server printed: where it listened, or why it did not start
: > "$SUITE_LOG"
rm -rf "$SUITE_STORES"
mkdir -p "$SUITE_STORES"
if [ $# -gt 0 ]; then
  tests=("$@")
else
  mapfile -t tests < <(grep -v '^#' "$HERE/tests.txt" | awk 'NF {print "t/" $1}')
fi
# The suite picks its servers' TCP ports in 30000-49999, inside Linux's usual ephemeral range, and
# connects in a loop while a server starts: a JVM takes long enough that a connect to the port
# before it listens can be given that same port as its source, and the socket connects to itself
# (TCP simultaneous open) and reads back what it wrote (seen once: cas.t got its own command line
# as the reply). Where the range can be moved (root), it is moved above the suite's ports for the run.
RANGE=/proc/sys/net/ipv4/ip_local_port_range
if [ -w "$RANGE" ] && read -r low high < "$RANGE" && [ "$low" -lt 50000 ]; then
  trap 'echo "$low $high" > "$RANGE"' EXIT
  echo "50000 $(( high > 50999 ? high : 60999 ))" > "$RANGE"
fi
cd "$SRC"
status=0
: > "$WORK/prove.log"
for transport in ${SUITE_TRANSPORTS:-unix tcp}; do
  echo "memcached-suite: servers on $transport sockets"
  SUITE_TRANSPORT="$transport" prove "${tests[@]}" 2>&1 | tee -a "$WORK/prove.log" || status=1
done
rm -rf "$SUITE_STORES"
echo "memcached-suite: memcached $VERSION's tests against ./arena serve (output in $WORK/prove.log, the servers' in $SUITE_LOG)"
exit $status
