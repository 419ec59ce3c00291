//go:build windows

package hardware

import (
	"context"
	"os"
	"strings"
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is Win32 MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

var globalMemoryStatusEx = windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")

// detectOS asks GlobalMemoryStatusEx for total and available physical
// memory; the CPU's name comes from PROCESSOR_IDENTIFIER (physical cores are
// not counted: the thread count stands in).
func detectOS(_ context.Context, h *Hardware) {
	var m memoryStatusEx
	m.Length = uint32(unsafe.Sizeof(m))
	if r, _, err := globalMemoryStatusEx.Call(uintptr(unsafe.Pointer(&m))); r != 0 {
		h.RAMTotalBytes, h.RAMAvailBytes = m.TotalPhys, m.AvailPhys
	} else {
		h.Notes = append(h.Notes, "GlobalMemoryStatusEx failed: "+err.Error())
	}
	h.CPUModel = strings.TrimSpace(os.Getenv("PROCESSOR_IDENTIFIER"))
}
