//go:build unix

package engine

import (
	"os/exec"
	"syscall"
)

// setProcGroup puts the engine in its own process group, so that signal
// reaches its children (Ollama's runner) too.
func setProcGroup(cmd *exec.Cmd) { cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} }

// signal sends sig to the whole process group.
func (p *proc) signal(sig syscall.Signal) {
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
}
