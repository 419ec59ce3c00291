package estimate

import (
	"fmt"
	"sync"
)

// A fit search asks for the compute buffer of the same graph many times
// (Ollama's layout tries layer counts per GPU and re-estimates each; the
// llama.cpp fit repeats probes), and building a reserve graph of a 61-layer
// MoE model allocates tens of thousands of tensors. The single-device figure
// depends on the shape alone, so it is kept per shape.
var graphBytesCache = struct {
	sync.Mutex
	m map[string]uint64
}{m: map[string]uint64{}}

// maxCachedGraphs bounds the cache; it starts over when full (a server
// analysing many repositories keeps a few MB at most).
const maxCachedGraphs = 4096

// shapeKey is s printed in full: every field, the slices' elements and the
// MLA dimensions (the pointer itself differs between equal shapes).
func shapeKey(s graphShape) string {
	var mla mlaGraph
	if s.mla != nil {
		mla = *s.mla
	}
	s.mla = nil
	return fmt.Sprintf("%+v|%+v", s, mla)
}

func cachedGraphBytes(s graphShape, build func(graphShape) uint64) uint64 {
	k := shapeKey(s)
	graphBytesCache.Lock()
	v, ok := graphBytesCache.m[k]
	graphBytesCache.Unlock()
	if ok {
		return v
	}
	v = build(s)
	graphBytesCache.Lock()
	if len(graphBytesCache.m) >= maxCachedGraphs {
		graphBytesCache.m = map[string]uint64{}
	}
	graphBytesCache.m[k] = v
	graphBytesCache.Unlock()
	return v
}
