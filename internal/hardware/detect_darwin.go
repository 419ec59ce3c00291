//go:build darwin

package hardware

import (
	"context"
	"os/exec"
	"runtime"
	"strings"

	"golang.org/x/sys/unix"
)

// detectOS asks sysctl for the memory (hw.memsize), the chip
// (machdep.cpu.brand_string: "Apple M3 Max"), physical cores and the GPU wired
// limit (iogpu.wired_limit_mb, absent before macOS 14 and on Intel Macs), and
// vm_stat for what is free. On Apple Silicon the GPU is the chip itself,
// sharing the whole memory; Resolve turns that into Metal's working set.
func detectOS(ctx context.Context, h *Hardware) {
	if v, err := unix.SysctlUint64("hw.memsize"); err == nil {
		h.RAMTotalBytes = v
	} else {
		h.Notes = append(h.Notes, "cannot read hw.memsize: "+err.Error())
	}
	if s, err := unix.Sysctl("machdep.cpu.brand_string"); err == nil {
		h.CPUModel = strings.TrimSpace(s)
	}
	if v, err := unix.SysctlUint32("hw.physicalcpu"); err == nil {
		h.CPUCores = int(v)
	}
	if v, err := unix.SysctlUint32("iogpu.wired_limit_mb"); err == nil {
		h.WiredLimitMB = uint64(v)
	}
	if out, err := exec.CommandContext(ctx, "vm_stat").Output(); err == nil {
		h.RAMAvailBytes = ParseVMStat(string(out))
	}
	if runtime.GOARCH == "arm64" && strings.HasPrefix(h.CPUModel, "Apple ") && h.RAMTotalBytes > 0 {
		h.GPUs = append(h.GPUs, GPU{Index: len(h.GPUs), Name: h.CPUModel, VRAMBytes: h.RAMTotalBytes, Vendor: "apple"})
	}
}
