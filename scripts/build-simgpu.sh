#!/usr/bin/env bash
# Builds fitbench's simulated-GPU rig (tools/simgpu) once, into a cache outside the
# checkout, like scripts/build-ollama.sh builds the engine:
#   $CACHE/bin/simgpu-rig          llama.cpp harness with the simulated GPU devices
#   $CACHE/lib/libggml-simgpu.so    the same device as an out-of-tree ggml backend
#                                   (GGML_BACKEND_PATH), e.g. for `ollama serve`
# The sources are the ggml and llama.cpp vendored in the Ollama module, so the rig
# runs exactly the placement code of the engine fitbench ships against. Only what the
# rig needs is compiled (ggml-base, ggml-cpu without per-CPU variants, llama src), -O2,
# two jobs. A stamp holding a hash of every input makes a re-run a no-op; editing only
# tools/simgpu recompiles only those files (the vendored objects are kept per version).
set -euo pipefail
cd "$(dirname "$0")/.."
OLLAMA_VERSION=${OLLAMA_VERSION:-v0.17.4}
CACHE=${FITBENCH_TOOLS:-$HOME/.cache/fitbench/tools}
JOBS=${SIMGPU_JOBS:-2}
BIN=$CACHE/bin/simgpu-rig
SO=$CACHE/lib/libggml-simgpu.so
STAMP=$CACHE/bin/.simgpu-stamp

command -v g++ >/dev/null || { echo "g++ is required (apt-get install g++)" >&2; exit 1; }
command -v make >/dev/null || { echo "make is required (apt-get install make)" >&2; exit 1; }

hash=$( { echo "$OLLAMA_VERSION"; g++ --version | head -1; cat scripts/build-simgpu.sh tools/simgpu/*.cpp tools/simgpu/*.h; } | sha256sum | cut -c1-16)
if [ -x "$BIN" ] && [ -f "$SO" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$hash" ]; then
  echo "simgpu rig already built ($hash): $BIN"
  exit 0
fi

MOD=$(go env GOMODCACHE)/github.com/ollama/ollama@${OLLAMA_VERSION}
if [ ! -d "$MOD/ml/backend/ggml/ggml" ]; then
  GOFLAGS=-mod=mod go mod download "github.com/ollama/ollama@${OLLAMA_VERSION}"
fi
GG=$MOD/ml/backend/ggml/ggml
LL=$MOD/llama/llama.cpp
OBJ=$CACHE/simgpu/obj-$OLLAMA_VERSION
mkdir -p "$OBJ" "$CACHE/bin" "$CACHE/lib"
SRC=$(pwd)/tools/simgpu

# Vendored sources: ggml base + the CPU backend (generic build, no -march variants),
# and the llama library (src and its model graphs). common/ is not needed: the
# harness parses llama-server's flags itself (arg.cpp is not vendored).
ggml_srcs=(
  "$GG"/src/ggml.c "$GG"/src/ggml.cpp "$GG"/src/ggml-alloc.c "$GG"/src/ggml-backend.cpp
  "$GG"/src/ggml-backend-reg.cpp "$GG"/src/ggml-opt.cpp "$GG"/src/ggml-quants.c
  "$GG"/src/ggml-threading.cpp "$GG"/src/gguf.cpp
  "$GG"/src/ggml-cpu/*.c "$GG"/src/ggml-cpu/*.cpp "$GG"/src/ggml-cpu/amx/*.cpp
  "$GG"/src/ggml-cpu/llamafile/sgemm.cpp "$GG"/src/ggml-cpu/arch/x86/quants.c
  "$GG"/src/ggml-cpu/arch/x86/repack.cpp
)
llama_srcs=( "$LL"/src/*.cpp "$LL"/src/models/*.cpp )

CPPFLAGS="-DNDEBUG -DGGML_USE_CPU -DGGML_USE_LLAMAFILE -D_GNU_SOURCE -DGGML_VERSION=0x0 -DGGML_COMMIT=0x0 \
 -I$GG/include -I$GG/src -I$GG/src/ggml-cpu -I$GG/src/ggml-cpu/amx -I$GG/src/ggml-cpu/llamafile -I$LL/include -I$LL/src"

mk=$OBJ/Makefile
{
  echo "CPPFLAGS := $CPPFLAGS"
  echo "CFLAGS := -O2 -fPIC -std=gnu11 -Wno-implicit-function-declaration"
  echo "CXXFLAGS := -O2 -fPIC -std=c++17"
  objs=()
  i=0
  for s in "${ggml_srcs[@]}" "${llama_srcs[@]}"; do
    b=$(basename "$s"); o="$OBJ/$(echo "$s" | sed "s|^$MOD/||; s|/|_|g").o"
    objs+=("$o")
    case "$s" in
      *.c) echo "$o: $s"; printf '\t@echo "  CC  %s"; gcc $(CPPFLAGS) $(CFLAGS) -c $< -o $@\n' "$b" ;;
      *)   echo "$o: $s"; printf '\t@echo "  CXX %s"; g++ $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@\n' "$b" ;;
    esac
  done
  echo "VENDORED := ${objs[*]}"
  echo "$OBJ/libvendored.a: \$(VENDORED)"
  printf '\trm -f $@ && ar rcs $@ $^\n'
  echo "$OBJ/simgpu.o: $SRC/simgpu.cpp $SRC/simgpu.h"
  printf '\tg++ $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@\n'
  echo "$OBJ/simgpu-dl.o: $SRC/simgpu.cpp $SRC/simgpu.h"
  printf '\tg++ $(CPPFLAGS) $(CXXFLAGS) -DGGML_BACKEND_DL -DGGML_BACKEND_BUILD -DGGML_BACKEND_SHARED -c $< -o $@\n'
  echo "$OBJ/harness.o: $SRC/harness.cpp $SRC/simgpu.h"
  printf '\tg++ $(CPPFLAGS) $(CXXFLAGS) -c $< -o $@\n'
  echo "$BIN: $OBJ/harness.o $OBJ/simgpu.o $OBJ/libvendored.a"
  printf '\tg++ -o $@ $^ -lpthread -ldl -lm\n'
  # The .so carries its own copy of ggml-base and ggml-cpu, bound to itself
  # (-Bsymbolic): a Go-built Ollama links ggml statically and exports none of
  # its symbols, so a backend loaded by GGML_BACKEND_PATH cannot use the host's.
  # ggml's objects are plain structs across the two copies (same source).
  echo "GGML_OBJS := $(for s in "${ggml_srcs[@]}"; do printf '%s ' "$OBJ/$(echo "$s" | sed "s|^$MOD/||; s|/|_|g").o"; done)"
  echo "$SO: $OBJ/simgpu-dl.o \$(GGML_OBJS)"
  printf '\tg++ -shared -Wl,-Bsymbolic -o $@ $^ -lpthread -ldl\n'
  echo "all: $BIN $SO"
} > "$mk"

# make does not see a changed recipe: relink the outputs (seconds) whenever the
# inputs' hash changed; the vendored objects are kept.
rm -f "$BIN" "$SO"
started=$(date +%s)
echo "building simgpu rig from $MOD (-j$JOBS)"
make -s -f "$mk" -j"$JOBS" ${SIMGPU_TARGET:-all}
echo "$hash" > "$STAMP"
echo "built $BIN and $SO in $(( $(date +%s) - started ))s"
