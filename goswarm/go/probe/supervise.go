package main

// The live dev loop (`goswarm dev --live`) swaps a service's binary inside its running task. PID 1 of such a
// task is the probe in supervise mode, and the service its child:
//
//	probe -supervise -- /service -flag      # run the program; pass it every signal; exit as it exits
//	probe -reload -tcp 127.0.0.1:6767       # from `docker exec`: restart it, wait until the port accepts
//
// goswarm starts -reload detached and polls its exit code: a hijacked exec stream ends its connection, and over
// SSH each new connection is a channel and a `docker system dial-stdio` on the node. So a failed -reload also
// writes why to reloadErrorFile, where goswarm reads it.
//
// On SIGHUP the supervisor stops the child as the engine would stop a task (SIGTERM, SIGKILL after a grace
// period) and starts the program again from its path, where goswarm has just put the new binary (the engine
// replaces a file it is given: the running program keeps the old one). The task, its container, its
// address and its place behind the edge stay: no new task, no rollout.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// childFile holds the pid of the supervised program: -reload waits for a new one.
const childFile = "/dev/shm/.goswarm-child"

// reloadErrorFile holds why the last -reload failed (goswarm reads it when the exit code is not 0).
const reloadErrorFile = "/dev/shm/.goswarm-reload-error"

// forwarded: what the engine, or a person at `docker kill -s`, may send a task.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

// supervise runs argv until it exits by itself, restarting it on SIGHUP; its exit status, as a shell gives it.
func supervise(argv []string, grace time.Duration, pidFile string) int {
	signals := make(chan os.Signal, 16)
	signal.Notify(signals, append(forwarded, syscall.SIGHUP)...)
	defer signal.Stop(signals)
	for {
		cmd := exec.Command(argv[0], argv[1:]...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			fmt.Fprintf(os.Stderr, "goswarm-probe: cannot start %s: %v\n", argv[0], err)
			return 127
		}
		_ = os.WriteFile(pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		restarting := false
		var kill <-chan time.Time
	running:
		for {
			select {
			case err := <-done:
				if !restarting {
					return exitStatus(err)
				}
				break running
			case <-kill:
				_ = cmd.Process.Kill()
			case sig := <-signals:
				if sig != syscall.SIGHUP {
					_ = cmd.Process.Signal(sig)
					continue
				}
				if !restarting {
					restarting = true
					kill = time.After(grace)
					_ = cmd.Process.Signal(syscall.SIGTERM)
				}
			}
		}
	}
}

func exitStatus(err error) int {
	var exited *exec.ExitError
	if err == nil {
		return 0
	}
	if errors.As(err, &exited) {
		if status, ok := exited.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			return 128 + int(status.Signal())
		}
		return exited.ExitCode()
	}
	return 1
}

// reload asks the supervisor (pid) to restart its program, then waits for a new child and, when ready is
// given, for it to pass; an error says which step did not happen within timeout.
func reload(pid int, pidFile string, ready func() error, timeout time.Duration, c clock) error {
	before, err := os.ReadFile(pidFile)
	if err != nil || len(before) == 0 {
		return errors.New("this container's program is not supervised (no " + pidFile + "): redeploy it")
	}
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		return fmt.Errorf("signalling the supervisor (pid %d): %v", pid, err)
	}
	end := c.now().Add(timeout)
	for {
		now, _ := os.ReadFile(pidFile)
		if len(now) > 0 && strings.TrimSpace(string(now)) != strings.TrimSpace(string(before)) {
			break
		}
		if c.now().After(end) {
			return fmt.Errorf("the program was not started again within %s", timeout)
		}
		c.sleep(5 * time.Millisecond)
	}
	for ready != nil {
		err := ready()
		if err == nil {
			return nil
		}
		if c.now().After(end) {
			return fmt.Errorf("started again, but not ready within %s: %v", timeout, err)
		}
		c.sleep(10 * time.Millisecond)
	}
	return nil
}
