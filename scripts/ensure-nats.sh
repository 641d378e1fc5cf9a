#!/usr/bin/env bash
# Makes sure a NATS server with JetStream answers on 127.0.0.1:4222, as the
# cluster tests expect (testenv.NATS): installs Debian's nats-server with
# apt-get when it is missing and starts it in the background, storing its
# streams under ${TMPDIR:-/tmp}/attune-nats. It changes nothing when
# something listens already, and exits non-zero saying why when it cannot
# get there (.ci/run then fails instead of letting the cluster tests skip).
set -euo pipefail

say() { echo "ensure-nats: $*" >&2; }
fail() { say "$*"; exit 1; }
up() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }

if up; then
  say "NATS answers on 127.0.0.1:4222"
  exit 0
fi
if ! command -v nats-server >/dev/null; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || fail "nats-server is not installed, and installing it needs root and apt-get"
  say "installing Debian nats-server..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q nats-server >/dev/null 2>&1 ||
    { apt-get update -q >/dev/null && apt-get install -y -q nats-server >/dev/null; } ||
    fail "apt-get install -y nats-server failed"
fi
dir="${TMPDIR:-/tmp}/attune-nats"
mkdir -p "$dir"
setsid nats-server -a 127.0.0.1 -p 4222 --jetstream --store_dir "$dir" -l "$dir/nats.log" </dev/null >/dev/null 2>&1 &
for _ in $(seq 50); do
  if up; then
    say "started nats-server --jetstream on 127.0.0.1:4222 (log $dir/nats.log)"
    exit 0
  fi
  sleep 0.1
done
fail "nats-server did not come up on 127.0.0.1:4222; see $dir/nats.log"
