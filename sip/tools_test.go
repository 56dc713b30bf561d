package sip_test

import (
	"context"
	"fmt"
	"katong/testkit"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// needTool skips a test when a real SIP client is not installed, loudly
// (on stderr, also without -v), or fails it when KATONG_REQUIRE_SIP=1,
// as CI sets.
func needTool(t testing.TB, name string) {
	t.Helper()
	_, err := exec.LookPath(name)
	need(t, err == nil, name+" is not installed")
}

// needFile is needTool for a file a tool brings.
func needFile(t testing.TB, path string) {
	t.Helper()
	_, err := os.Stat(path)
	need(t, err == nil, path+" is missing")
}

func need(t testing.TB, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	const install = "apt-get install -y --no-install-recommends sip-tester baresip-core"
	if os.Getenv("KATONG_REQUIRE_SIP") == "1" {
		t.Fatalf("%s and KATONG_REQUIRE_SIP=1: %s", why, install)
	}
	fmt.Fprintf(os.Stderr, "SKIP %s: %s (%s; KATONG_REQUIRE_SIP=1 makes this a failure)\n", t.Name(), why, install)
	t.Skip(why)
}

// tool is an external process run for a test: in its own process group,
// under a hard deadline, and killed with its whole group when the test
// ends, whatever happens. No test may hang on it.
type tool struct {
	cmd  *exec.Cmd
	out  *testkit.SyncBuffer
	done chan struct{}
	err  error
}

func startTool(t testing.TB, limit time.Duration, dir, name string, args ...string) *tool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	kill := func() error {
		if cmd.Process != nil {
			syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		}
		return nil
	}
	cmd.Cancel = kill
	cmd.WaitDelay = 2 * time.Second
	p := &tool{cmd: cmd, out: &testkit.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("%s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		kill()
		cancel()
		<-p.done
	})
	return p
}

// wait waits for the tool to exit and returns how.
func (p *tool) wait() error {
	<-p.done
	return p.err
}
