#!/usr/bin/env bash
# Builds cmd/attune/testdata/browser/sdk.js, the browser bundle of the real
# @aws-sdk/client-personalize-runtime and @aws-sdk/client-personalize-events
# (versions pinned by package-lock.json) that the CORS browser test loads.
# The bundle is committed; run this after changing package.json or entry.js.
# Needs node and npm (the npm registry); node_modules stays out of git.
set -euo pipefail
cd "$(dirname "$0")/../cmd/attune/testdata/browser"
npm ci --no-audit --no-fund
npx --no-install esbuild entry.js --bundle --minify --format=iife --platform=browser \
  --target=chrome100 --legal-comments=eof --outfile=sdk.js
ls -l sdk.js
