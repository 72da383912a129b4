//go:build linux

package pluginhost

import (
	"os/exec"
	"syscall"
)

// setProcAttr has the kernel kill the plugin when the Aegis process dies, however it
// dies: a plugin must never outlive the server.
func setProcAttr(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
