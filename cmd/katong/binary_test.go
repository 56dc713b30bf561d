package main_test

import (
	"context"
	"fmt"
	"katong/testkit"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/katong once per test run and returns its path.
func binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "katong-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "katong")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// freePort returns a free TCP port on loopback.
func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// proc is a running katong process.
type proc struct {
	cmd    *exec.Cmd
	addr   string
	out    *syncBuffer
	exited chan struct{} // closed when the process has ended; err is then set
	err    error
}

// start runs `katong serve args…` on a free port and waits until /healthz
// answers. The process is killed when the test ends.
func start(t testing.TB, args ...string) *proc {
	t.Helper()
	return startAt(t, freePort(t), args...)
}

// startAt is start on a given address (a restart after a crash).
func startAt(t testing.TB, addr string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, binary(t), append([]string{"serve", "--addr", addr, "--sip", "off"}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, addr: addr, out: out, exited: make(chan struct{})}
	go func() { p.err = cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		p.kill()
		cancel()
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			t.Fatalf("katong exited (%v) before it came up on %s:\n%s", p.err, addr, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("katong did not come up on %s:\n%s", addr, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill sends SIGKILL to the process group and waits.
func (p *proc) kill() {
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.exited
}

// stop sends SIGTERM and waits for a graceful exit.
func (p *proc) stop(t testing.TB) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("katong exited with %v:\n%s", p.err, p.out.String())
		}
	case <-time.After(30 * time.Second):
		p.kill()
		t.Fatalf("katong did not stop on SIGTERM:\n%s", p.out.String())
	}
}

// run runs a katong subcommand to completion and returns its stdout.
func run(t testing.TB, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary(t), args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("katong %s: %v\n%s%s", strings.Join(args, " "), err, out, stderr.String())
	}
	return string(out)
}

// syncBuffer is a log sink tests can read.
type syncBuffer = testkit.SyncBuffer
