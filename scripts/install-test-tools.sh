#!/usr/bin/env bash
# Installs what the compatibility tests drive besides Go: Debian's AWS CLI v2,
# pip's AWS CLI v1 and boto3 (when missing), node with the AWS SDK for
# JavaScript v3 (npm ci into ~/.cache/attune-tools/node), Debian's Chromium
# for the console and browser SDK tests, Debian's haproxy (the load balancer
# of deploy/compose.yaml, which a cluster test runs in front of two
# replicas), versitygw, an S3-compatible server (Apache-2.0) that the
# s3:// import tests start, and helm (Apache-2.0), which the Helm chart test
# runs (helm lint, helm template).
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

# Required: boto3 and pip's AWS CLI v1 (TestClientMatrix, the notebook tests).
if ! python3 -c "import boto3" 2>/dev/null || ! { command -v aws >/dev/null && [ "$(command -v aws)" != /usr/bin/aws ]; }; then
  echo "installing boto3 and the AWS CLI v1 with pip..."
  python3 -m pip install -q awscli boto3 || { echo "pip install awscli boto3 failed" >&2; exit 1; }
fi

# Required: node and the AWS SDK for JavaScript v3 Personalize clients, at the
# versions cmd/attune/testdata/node/package-lock.json pins (TestClientMatrix
# runs testdata/node/workflow.mjs with them).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "cannot install node and npm: needs root and apt-get (or install them yourself)" >&2
    exit 1
  fi
  echo "installing Debian nodejs and npm..."
  apt-get install -y -q nodejs npm >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q nodejs npm >/dev/null; } || {
    echo "apt-get install nodejs npm failed" >&2
    exit 1
  }
fi
node_dir="${ATTUNE_NODE_DIR:-$HOME/.cache/attune-tools/node}"
lock="$(dirname "$0")/../cmd/attune/testdata/node/package-lock.json"
if ! cmp -s "$lock" "$node_dir/package-lock.json" || [ ! -d "$node_dir/node_modules/@aws-sdk/client-personalize" ]; then
  echo "installing the AWS SDK for JavaScript v3 (npm ci) into $node_dir..."
  mkdir -p "$node_dir"
  cp "$(dirname "$0")/../cmd/attune/testdata/node/package.json" "$lock" "$node_dir/"
  (cd "$node_dir" && npm ci --no-audit --no-fund --silent) || { echo "npm ci of the AWS SDK for JavaScript v3 failed" >&2; exit 1; }
fi

if ! command -v haproxy >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing Debian haproxy (for the cluster load-balancer test)..."
    apt-get install -y -q haproxy >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q haproxy >/dev/null; } ||
      { echo "apt-get install haproxy failed" >&2; exit 1; }
  else
    echo "skipping Debian haproxy: needs root and apt-get" >&2
  fi
fi

if [ ! -x "$tools/versitygw" ]; then
  echo "building versitygw v1.8.0 into $tools (about 4 minutes the first time)..."
  GOBIN="$tools" go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi
if [ ! -x "$tools/helm" ]; then
  echo "building helm v4.3.2 into $tools (for the Helm chart test; a few minutes the first time)..."
  GOBIN="$tools" go install helm.sh/helm/v4/cmd/helm@v4.3.2
fi
echo "test tools ready: versitygw at $tools/versitygw, helm at $tools/helm; haproxy: $(command -v haproxy || echo none); AWS SDK for JavaScript v3 in $node_dir; aws: $(command -v aws || echo none), /usr/bin/aws: $([ -x /usr/bin/aws ] && echo yes || echo no), chromium: $(/usr/bin/chromium --version 2>/dev/null || echo none)"
