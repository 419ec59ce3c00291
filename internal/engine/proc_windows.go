//go:build windows

package engine

import (
	"os/exec"
	"syscall"
)

// setProcGroup: Windows has no POSIX process groups; CREATE_NEW_PROCESS_GROUP
// keeps a Ctrl-C in fitbench's console from reaching the engine directly.
func setProcGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// signal ends the engine: Windows cannot deliver SIGTERM to another process,
// so every signal is TerminateProcess (os.Process.Kill).
func (p *proc) signal(sig syscall.Signal) {
	_ = p.cmd.Process.Kill()
}
