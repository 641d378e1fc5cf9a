package testenv

import (
	"os/exec"
	"syscall"
)

// setDeathSignal makes the kernel kill the server if the test binary dies
// without running its cleanups (a panic or a -timeout), so no server
// outlives its test. The signal follows the OS thread that started the
// child; the Go runtime only retires threads of goroutines that exit while
// locked to one, which test code here does not do.
func setDeathSignal(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
