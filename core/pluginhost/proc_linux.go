//go:build linux

package pluginhost

import (
	"errors"
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the plugin when the Aegis process dies, however it
// dies: a plugin must never outlive the server.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// processAlive reports whether a process with this id exists (signal 0 checks without
// sending anything; EPERM means it exists under another user).
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
