#!/usr/bin/env bash
# Installs what the compatibility tests drive besides Go: Debian's AWS CLI v2
# (the pip AWS CLI v1 is expected on PATH already), Debian's Chromium for the
# console test, and versitygw, an S3-compatible server (Apache-2.0) that the
# s3:// import tests start.
# Tests that need a missing tool skip with a message saying so.
set -euo pipefail

tools="${ATTUNE_TOOLS_DIR:-$HOME/.cache/attune-tools/bin}"
mkdir -p "$tools"

if [ ! -x /usr/bin/aws ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian awscli (v2)..."
    apt-get install -y -q awscli >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q awscli >/dev/null; }
  else
    echo "skipping Debian awscli: needs root and apt-get" >&2
  fi
fi

# Best effort: the console test renders the page in headless Chromium when present.
if ! command -v chromium >/dev/null && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing Debian chromium (for the console test)..."
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1; } || echo "chromium not installed: the console browser test will skip" >&2
fi

if [ ! -x "$tools/versitygw" ]; then
  echo "building versitygw v1.8.0 into $tools (about 4 minutes the first time)..."
  GOBIN="$tools" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
echo "test tools ready: versitygw at $tools/versitygw; aws: $(command -v aws || echo none), /usr/bin/aws: $([ -x /usr/bin/aws ] && echo yes || echo no)"
