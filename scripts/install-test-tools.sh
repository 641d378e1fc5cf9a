#!/usr/bin/env bash
# Installs what the compatibility tests drive besides Go: Debian's AWS CLI v2
# (the pip AWS CLI v1 is expected on PATH already), Debian's Chromium for the
# console and browser SDK tests, and versitygw, an S3-compatible server
# (Apache-2.0) that the s3:// import tests start.
# Tests that need a missing tool skip with a message saying so, except under
# ATTUNE_CI=1 (.ci/run), where they fail: CI must run them all.
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

# Required: the console and browser SDK tests drive headless Chromium.
if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "cannot install Debian chromium: needs root and apt-get (or install it yourself)" >&2
    exit 1
  fi
  echo "installing Debian chromium (for the console and browser SDK tests)..."
  apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || {
    echo "apt-get install chromium failed" >&2
    exit 1
  }
fi

if [ ! -x "$tools/versitygw" ]; then
  echo "building versitygw v1.8.0 into $tools (about 4 minutes the first time)..."
  GOBIN="$tools" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
echo "test tools ready: versitygw at $tools/versitygw; aws: $(command -v aws || echo none), /usr/bin/aws: $([ -x /usr/bin/aws ] && echo yes || echo no), chromium: $(/usr/bin/chromium --version 2>/dev/null || echo none)"
