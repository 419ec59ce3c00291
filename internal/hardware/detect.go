package hardware

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// GPU is a detected GPU.
type GPU struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	VRAMBytes uint64 `json:"vram_bytes"`
	FreeBytes uint64 `json:"free_bytes"`
	Vendor    string `json:"vendor"`
}

// Hardware is what Detect found.
type Hardware struct {
	GPUs          []GPU  `json:"gpus"`
	RAMTotalBytes uint64 `json:"ram_total_bytes"`
	RAMAvailBytes uint64 `json:"ram_available_bytes"`
	CPUModel      string `json:"cpu_model"`
	CPUThreads    int    `json:"cpu_threads"` // logical CPUs
	// CPUCores is physical cores: what llama.cpp and Ollama use as their
	// default thread count, so CPU-side speed estimates use it.
	CPUCores int `json:"cpu_cores"`
	// WiredLimitMB is macOS's iogpu.wired_limit_mb (0 = Metal's default
	// working set): how much unified memory the GPU may wire.
	WiredLimitMB uint64   `json:"wired_limit_mb,omitempty"`
	Notes        []string `json:"notes,omitempty"`
}

// Detect queries nvidia-smi and rocm-smi when on PATH (on every OS; on
// Windows the driver installs nvidia-smi.exe on PATH), then RAM and CPU
// through the OS's own interface (detectOS: /proc on Linux, sysctl on macOS,
// GlobalMemoryStatusEx on Windows). A missing tool is not an error; a tool
// that fails, or RAM that cannot be read, is a note.
func Detect(ctx context.Context) (Hardware, error) {
	h := Hardware{CPUThreads: runtime.NumCPU()}
	if p, err := exec.LookPath("nvidia-smi"); err == nil {
		out, err := exec.CommandContext(ctx, p, "--query-gpu=index,name,memory.total,memory.free", "--format=csv,noheader,nounits").Output()
		if err != nil {
			h.Notes = append(h.Notes, fmt.Sprintf("nvidia-smi failed: %v", err))
		} else {
			h.GPUs = append(h.GPUs, ParseNvidiaSMI(string(out))...)
		}
	}
	if p, err := exec.LookPath("rocm-smi"); err == nil {
		out, err := exec.CommandContext(ctx, p, "--showmeminfo", "vram", "--showproductname", "--json").Output()
		if err != nil {
			h.Notes = append(h.Notes, fmt.Sprintf("rocm-smi failed: %v", err))
		} else {
			h.GPUs = append(h.GPUs, ParseROCmSMI(out)...)
		}
	}
	detectOS(ctx, &h)
	if h.CPUCores <= 0 || h.CPUCores > h.CPUThreads {
		h.CPUCores = h.CPUThreads
	}
	return h, nil
}

// ParseNvidiaSMI reads "index, name, total MiB, free MiB" lines; bad lines are skipped.
func ParseNvidiaSMI(out string) []GPU {
	var gpus []GPU
	for _, line := range strings.Split(out, "\n") {
		f := strings.Split(line, ",")
		if len(f) < 4 {
			continue
		}
		idx, err1 := strconv.Atoi(strings.TrimSpace(f[0]))
		if err1 != nil {
			continue
		}
		// "[N/A]" (GPUs sharing system memory, some vGPUs) leaves 0: Resolve
		// then leaves the GPU out with a note instead of assuming 0 GiB fits.
		tot, _ := strconv.ParseFloat(strings.TrimSpace(f[len(f)-2]), 64)
		free, _ := strconv.ParseFloat(strings.TrimSpace(f[len(f)-1]), 64)
		name := strings.TrimSpace(strings.Join(f[1:len(f)-2], ","))
		gpus = append(gpus, GPU{Index: idx, Name: name, VRAMBytes: uint64(tot) << 20, FreeBytes: uint64(free) << 20, Vendor: "nvidia"})
	}
	return gpus
}

// ParseROCmSMI reads rocm-smi's JSON ({"card0": {"Card series": …, "VRAM Total Memory (B)": …}}).
func ParseROCmSMI(out []byte) []GPU {
	var m map[string]map[string]any
	if json.Unmarshal(out, &m) != nil {
		return nil
	}
	var gpus []GPU
	for i := 0; i < 64; i++ {
		c, ok := m[fmt.Sprintf("card%d", i)]
		if !ok {
			continue
		}
		g := GPU{Index: i, Vendor: "amd"}
		g.Name = rocmName(c)
		tot := num(c["VRAM Total Memory (B)"])
		used := num(c["VRAM Total Used Memory (B)"])
		g.VRAMBytes = tot
		if tot >= used {
			g.FreeBytes = tot - used
		}
		gpus = append(gpus, g)
	}
	return gpus
}

func num(v any) uint64 {
	switch x := v.(type) {
	case string:
		n, _ := strconv.ParseUint(strings.TrimSpace(x), 10, 64)
		return n
	case float64:
		return uint64(x)
	}
	return 0
}

// ParseMeminfo returns MemTotal and MemAvailable in bytes.
func ParseMeminfo(s string) (total, avail uint64) {
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			continue
		}
		switch f[0] {
		case "MemTotal:":
			total = v << 10
		case "MemAvailable:":
			avail = v << 10
		}
	}
	return
}

// ParseCPUModel returns the first "model name" of /proc/cpuinfo.
func ParseCPUModel(s string) string {
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// ParsePhysicalCores counts distinct (physical id, core id) pairs in
// /proc/cpuinfo; 0 when the file has no such fields (some VMs, non-x86).
func ParsePhysicalCores(s string) int {
	seen := map[string]bool{}
	phys, core := "", ""
	flush := func() {
		if core != "" {
			seen[phys+"/"+core] = true
		}
		phys, core = "", ""
	}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			if strings.TrimSpace(line) == "" {
				flush()
			}
			continue
		}
		switch strings.TrimSpace(k) {
		case "physical id":
			phys = strings.TrimSpace(v)
		case "core id":
			core = strings.TrimSpace(v)
		}
	}
	flush()
	return len(seen)
}
