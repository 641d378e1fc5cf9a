//go:build !linux

package testenv

import "os/exec"

// setDeathSignal does nothing where the kernel has no parent-death signal;
// t.Cleanup still stops the server on a normal exit.
func setDeathSignal(*exec.Cmd) {}
