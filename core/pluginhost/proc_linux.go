//go:build linux

package pluginhost

import (
	"errors"
	"os"
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

// fileID is what tells one version of a file from another without reading it.
type fileID struct {
	dev, ino, size       uint64
	mtimeNsec, ctimeNsec int64
}

// fileIdentity reads a file's fileID from its FileInfo.
func fileIdentity(info os.FileInfo) (fileID, bool) {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{dev: uint64(st.Dev), ino: st.Ino, size: uint64(st.Size),
		mtimeNsec: st.Mtim.Nano(), ctimeNsec: st.Ctim.Nano()}, true
}
