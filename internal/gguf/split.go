package gguf

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
)

// Split metadata keys written by llama.cpp's gguf-split.
const (
	KeySplitNo     = "split.no"            // uint16, 0-based
	KeySplitCount  = "split.count"         // uint16
	KeySplitTensor = "split.tensors.count" // int32, tensors over all shards
)

// SplitName is llama.cpp's shard file name: SplitName("dir/m", 1, 3) =
// "dir/m-00001-of-00003.gguf" (i is 1-based).
func SplitName(prefix string, i, n int) string {
	return fmt.Sprintf("%s-%05d-of-%05d.gguf", prefix, i, n)
}

var splitRE = regexp.MustCompile(`^(.*)-(\d{5})-of-(\d{5})\.gguf$`)

// ParseSplit recognises a shard name; i is 1-based. ok is false for names that are
// not shards or whose numbers are inconsistent (0, or i > n).
func ParseSplit(name string) (prefix string, i, n int, ok bool) {
	m := splitRE.FindStringSubmatch(name)
	if m == nil {
		return "", 0, 0, false
	}
	i, _ = strconv.Atoi(m[2])
	n, _ = strconv.Atoi(m[3])
	if i < 1 || n < 1 || i > n {
		return "", 0, 0, false
	}
	return m[1], i, n, true
}

// SplitGroup is one model: a single file, or the shards of a split model.
type SplitGroup struct {
	Prefix   string   // shard prefix, or the file name for a single file
	Files    []string // in shard order
	Count    int      // shards the names announce (n in -of-n); 1 for a single file
	Complete bool     // every shard 1..Count present exactly once
}

// GroupSplits groups file names into models, sorted by prefix. Names that are not
// shards form groups of one.
func GroupSplits(names []string) []SplitGroup {
	type key struct {
		prefix string
		n      int
	}
	groups := map[key]map[int]string{}
	var singles []SplitGroup
	for _, name := range names {
		p, i, n, ok := ParseSplit(name)
		if !ok {
			singles = append(singles, SplitGroup{Prefix: name, Files: []string{name}, Count: 1, Complete: true})
			continue
		}
		k := key{p, n}
		if groups[k] == nil {
			groups[k] = map[int]string{}
		}
		groups[k][i] = name
	}
	out := singles
	for k, m := range groups {
		g := SplitGroup{Prefix: k.prefix, Count: k.n, Complete: len(m) == k.n}
		idx := make([]int, 0, len(m))
		for i := range m {
			idx = append(idx, i)
		}
		sort.Ints(idx)
		for _, i := range idx {
			g.Files = append(g.Files, m[i])
		}
		out = append(out, g)
	}
	sort.Slice(out, func(a, b int) bool {
		if out[a].Prefix != out[b].Prefix {
			return out[a].Prefix < out[b].Prefix
		}
		return out[a].Count < out[b].Count
	})
	return out
}
