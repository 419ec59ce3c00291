#!/usr/bin/env bash
# Builds the CPU-only Ollama used by fitbench's engine tests, once, into a cache
# outside the checkout (CI runs in a fresh clone; a cache inside it would be rebuilt
# every run). Re-running is a no-op when the binary is already there.
set -euo pipefail
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
MALGO_VERSION=v0.11.24
CACHE=${FITBENCH_TOOLS:-$HOME/.cache/fitbench/tools}
BIN=$CACHE/bin/ollama
# A module-proxy build reports version 0.0.0, so a stamp file records what was built.
STAMP=$CACHE/bin/.ollama-version
if [ -x "$BIN" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$OLLAMA_VERSION" ]; then
  echo "ollama ${OLLAMA_VERSION} already built: $BIN"
  exit 0
fi
need=()
[ -f /usr/include/nlohmann/json.hpp ] || need+=(nlohmann-json3-dev)
[ -f /usr/include/stb/stb_image.h ] || need+=(libstb-dev)
command -v g++ >/dev/null || need+=(g++)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi
INC=$CACHE/include
mkdir -p "$INC/miniaudio" "$CACHE/bin"
MALGO_DIR=$(go mod download -json "github.com/gen2brain/malgo@${MALGO_VERSION}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
cp "$MALGO_DIR/miniaudio.h" "$INC/miniaudio/"
echo "building ollama ${OLLAMA_VERSION} for the CPU (several minutes the first time)"
CGO_CPPFLAGS="-I$INC" GOBIN=$CACHE/bin GOFLAGS=-mod=mod go install "github.com/ollama/ollama@${OLLAMA_VERSION}"
echo "$OLLAMA_VERSION" > "$STAMP"
echo "built $BIN"
