package hardware

import (
	"regexp"
	"strconv"
	"strings"
)

var pageSize = regexp.MustCompile(`page size of (\d+) bytes`)

// ParseVMStat estimates macOS's available memory from vm_stat: free,
// inactive, speculative and purgeable pages (what the kernel hands out
// without swapping), times the page size in its header.
func ParseVMStat(s string) uint64 {
	ps := uint64(4096)
	if m := pageSize.FindStringSubmatch(s); m != nil {
		ps, _ = strconv.ParseUint(m[1], 10, 64)
	}
	var pages uint64
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch strings.TrimSpace(k) {
		case "Pages free", "Pages inactive", "Pages speculative", "Pages purgeable":
			n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), "."), 10, 64)
			if err == nil {
				pages += n
			}
		}
	}
	return pages * ps
}
