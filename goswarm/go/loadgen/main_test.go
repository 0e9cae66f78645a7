package main

import (
	"bytes"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests below run the test binary itself as loadgen, to see what a caller sees: exit statuses,
// stdout and stderr, signals and stdin.
func TestMain(m *testing.M) {
	if os.Getenv("LOADGEN_TEST_AS_MAIN") == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func loadgenCommand(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "LOADGEN_TEST_AS_MAIN=1")
	return cmd
}

func TestBadFlagsGetOneLineAndStatus2(t *testing.T) {
	for _, args := range [][]string{
		{"-users", "0", "-url", "http://127.0.0.1:1/"},
		{"-url", "https://127.0.0.1:1/"},
		{"-bogus"},
	} {
		cmd := loadgenCommand(args...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		if exit, ok := err.(*exec.ExitError); !ok || exit.ExitCode() != 2 {
			t.Errorf("%q: %v, want exit status 2", args, err)
		}
		if lines := strings.Count(stderr.String(), "\n"); lines != 1 || stdout.Len() != 0 {
			t.Errorf("%q: want one line on stderr and nothing on stdout, got %q and %q", args, stderr.String(), stdout.String())
		}
	}
}

func TestStopsWhenAsked(t *testing.T) {
	ts := httptest.NewServer(&accounts{})
	defer ts.Close()
	tests := []struct {
		name string
		args []string
		stop func(cmd *exec.Cmd, stdin interface{ Close() error }) error
	}{
		{"SIGTERM", nil, func(cmd *exec.Cmd, _ interface{ Close() error }) error {
			return cmd.Process.Signal(syscall.SIGTERM)
		}},
		{"SIGINT", nil, func(cmd *exec.Cmd, _ interface{ Close() error }) error {
			return cmd.Process.Signal(syscall.SIGINT)
		}},
		{"EOF on stdin", []string{"-stdin-stop"}, func(_ *exec.Cmd, stdin interface{ Close() error }) error {
			return stdin.Close()
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := loadgenCommand(append([]string{"-url", ts.URL + "/accounts/2", "-users", "2", "-duration", "1m"}, tt.args...)...)
			var stdout bytes.Buffer
			cmd.Stdout = &stdout
			stdin, err := cmd.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			time.Sleep(300 * time.Millisecond)
			if err := tt.stop(cmd, stdin); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				if err != nil {
					t.Fatalf("exited with %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("still running 5 s after being asked to stop")
			}
			if _, summary := parseOutput(t, stdout.Bytes()); summary.Requests == 0 {
				t.Fatalf("no requests in the summary: %s", stdout.String())
			}
		})
	}
}
