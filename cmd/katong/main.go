// Command katong runs the Katong balance service and its tools.
//
//	katong serve [--demo] [--addr 127.0.0.1:8080] [--data DIR] [--config FILE] [--role all|bank|wallet] [--bank ID]
//	katong demo info [--json]
//	katong seed --customers N [--data DIR | --postgres DSN] [--bank ID]
//	katong load --url URL [--op transfer|balance|get] [--path P] [--header 'Name: value'] [--clients 32] [--duration 10s] [--rate R]
//	katong call --bank galaxy --server http://127.0.0.1:8080 [--keys "1 6222…# 1101…#"]
//	katong version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	_ "time/tzdata" // Asia/Shanghai on machines without a zone database
)

// Version is set at build time with -ldflags "-X main.Version=…".
var Version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "katong:", err)
		os.Exit(1)
	}
}

const usage = `usage: katong <command> [flags]

commands:
  serve     run Katong (banks, wallet, every channel); --demo for the demo world
  demo      demo info [--json]: the demo logins, cards and secrets
  seed      generate a large synthetic bank for load tests
  load      drive a running server and report throughput and latency
  call      call a bank's phone line from the terminal
  version   print the version
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "demo":
		return runDemo(args[1:], stdout)
	case "seed":
		return runSeed(ctx, args[1:], stdout, stderr)
	case "load":
		return runLoad(ctx, args[1:], stdout)
	case "call":
		return runCall(ctx, args[1:], stdin, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "katong", Version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", args[0])
}
