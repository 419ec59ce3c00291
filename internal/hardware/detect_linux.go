//go:build linux

package hardware

import (
	"context"
	"os"
)

// detectOS reads /proc/meminfo (MemTotal, MemAvailable) and /proc/cpuinfo.
func detectOS(_ context.Context, h *Hardware) {
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		h.RAMTotalBytes, h.RAMAvailBytes = ParseMeminfo(string(b))
	} else {
		h.Notes = append(h.Notes, "cannot read /proc/meminfo: "+err.Error())
	}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		h.CPUModel = ParseCPUModel(string(b))
		h.CPUCores = ParsePhysicalCores(string(b))
	}
}
