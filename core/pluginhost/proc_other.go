//go:build !linux

package pluginhost

import "os/exec"

func setProcAttr(cmd *exec.Cmd) {}

// processAlive cannot tell here: every folder is taken as live and left alone.
func processAlive(int) bool { return true }
