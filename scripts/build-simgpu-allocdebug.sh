#!/usr/bin/env bash
# build-simgpu-allocdebug.sh — a second simgpu-rig whose ggml-alloc.c prints
# every allocation, free and in-place reuse of the graph allocator, and the
# live tensors (name, offset, size) each time a buffer reaches a new size
# (ggml-alloc.c's own GGML_ALLOCATOR_DEBUG and AT_PRINTF, switched on).
#
# A developer tool, not used by the tests: when fitbench's compute-buffer
# replay (internal/estimate galloc.go, sched.go) differs from the rig, run the
# same command line with this binary and compare its trace with the replay's
# sequence of tensors; the first allocation that lands elsewhere names the
# rule to fix (docs/ESTIMATES.md, "Offload, checked on the rig").
#
# It reuses the objects of scripts/build-simgpu.sh (run that first) and
# recompiles only ggml-alloc.c: a few seconds. Output:
# $FITBENCH_TOOLS/bin/simgpu-rig-allocdebug (default ~/.cache/fitbench/tools).
# Usage: FITBENCH_SIMGPU=… simgpu-rig-allocdebug -m model.gguf … 2>trace.log
set -euo pipefail
cd "$(dirname "$0")/.."
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
CACHE=${FITBENCH_TOOLS:-$HOME/.cache/fitbench/tools}
OBJ=$CACHE/simgpu/obj-$OLLAMA_VERSION
OUT=$CACHE/bin/simgpu-rig-allocdebug
MOD=$(go env GOMODCACHE)/github.com/ollama/ollama@${OLLAMA_VERSION}
GG=$MOD/ml/backend/ggml/ggml
if [ ! -f "$OBJ/harness.o" ] || [ ! -f "$OBJ/simgpu.o" ]; then
  echo "run scripts/build-simgpu.sh first (no objects in $OBJ)" >&2
  exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# AT_PRINTF is defined empty next to a commented-out GGML_LOG_DEBUG variant
sed 's|^#define AT_PRINTF(...)$|#define AT_PRINTF(...) GGML_LOG_DEBUG(__VA_ARGS__)|' "$GG/src/ggml-alloc.c" > "$tmp/ggml-alloc.c"
grep -q '^#define AT_PRINTF(...) GGML_LOG_DEBUG' "$tmp/ggml-alloc.c" || { echo "ggml-alloc.c has no AT_PRINTF to switch on" >&2; exit 1; }
gcc -DNDEBUG -DGGML_USE_CPU -D_GNU_SOURCE -DGGML_VERSION=0x0 -DGGML_COMMIT=0x0 -DGGML_ALLOCATOR_DEBUG \
  -I"$GG/include" -I"$GG/src" -O2 -fPIC -std=gnu11 -Wno-implicit-function-declaration \
  -c "$tmp/ggml-alloc.c" -o "$tmp/alloc.o"
mapfile -t objs < <(ls "$OBJ"/*.o | grep -v -F -e "ggml-alloc.c.o" -e "simgpu-dl.o" -e "/harness.o" -e "/simgpu.o")
ar rcs "$tmp/vendored.a" "${objs[@]}" "$tmp/alloc.o"
g++ -o "$OUT" "$OBJ/harness.o" "$OBJ/simgpu.o" "$tmp/vendored.a" -lpthread -ldl -lm
echo "built $OUT"
