package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"katong"
	"katong/ivr/twiml"
)

// runCall is `katong call`: a caller on the terminal. It calls a bank's
// phone line through the line's TwiML webhook, as a telephony provider
// would (signed with the webhook's auth token), prints what the line says
// and sends the keys typed: interactively from stdin, or all of them from
// --keys. It exits 0 when the call ended normally: the line hung up or
// transferred the caller, or the caller hung up (end of input).
func runCall(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	bankID := fs.String("bank", "galaxy", "the bank whose line to call")
	server := fs.String("server", "http://127.0.0.1:8080", "the running Katong server")
	keys := fs.String("keys", "", "the keys to press, e.g. \"1 6222021234567894# 11010519491231002*#\" (spaces are ignored, ~ is waiting for a time-out); without it, keys are read from stdin")
	caller := fs.String("caller", "+8613800138000", "the calling number")
	token := fs.String("token", "", "the webhook's auth token (default $KATONG_TWIML_TOKEN)")
	timeout := fs.Duration("timeout", 15*time.Second, "how long to wait for each answer of the line")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: katong call --bank galaxy --server http://127.0.0.1:8080 [--keys \"1 6222…# 1101…#\"] [--caller +8613800138000] [--token …]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("call: unexpected argument %q", fs.Arg(0))
	}
	if *token == "" {
		*token = os.Getenv("KATONG_TWIML_TOKEN")
	}
	if *token == "" {
		return errors.New("call: no auth token: give --token or set KATONG_TWIML_TOKEN")
	}
	c := &twiml.Caller{URL: strings.TrimSuffix(*server, "/") + twiml.Path(katong.BankID(*bankID)), Token: *token,
		From: *caller, To: *bankID, Client: &http.Client{Timeout: *timeout}}
	var in callKeys
	if given(fs)["keys"] {
		in = &callScript{keys: []rune(*keys)}
	} else {
		in = &callTerminal{r: bufio.NewReader(stdin), w: stdout}
	}
	fmt.Fprintf(stdout, "calling %s at %s from %s\n", *bankID, c.URL, *caller)
	turn, err := c.Start(ctx)
	for {
		if err != nil {
			return fmt.Errorf("call: %w", err)
		}
		for _, s := range turn.Say {
			fmt.Fprintf(stdout, "line: %s\n", s.Text)
		}
		switch {
		case turn.Dial != "":
			fmt.Fprintf(stdout, "-- transferred to %s\n", turn.Dial)
			return nil
		case turn.Ended():
			fmt.Fprintln(stdout, "-- the line hung up")
			return nil
		}
		digits, finished, ok, rerr := callGather(in, turn.Gather)
		if rerr != nil {
			c.Hangup(ctx)
			return fmt.Errorf("call: %w", rerr)
		}
		if !ok {
			fmt.Fprintln(stdout, "-- you hung up")
			return c.Hangup(ctx)
		}
		fmt.Fprintf(stdout, "keys: %s\n", callEcho(turn.Gather, digits, finished))
		turn, err = c.Keys(ctx, digits, finished)
	}
}

// callGather takes the keys a gather wants: one key, or keys up to the
// finishing key. A time-out ("~", or an empty line at the terminal)
// answers with what was typed so far. ok is false when the caller hangs
// up (the input ended).
func callGather(in callKeys, g *twiml.Gather) (digits, finished string, ok bool, err error) {
	var typed []rune
	for {
		k, err := in.next(g)
		if err == io.EOF {
			return "", "", false, nil
		} else if err != nil {
			return "", "", false, err
		}
		switch {
		case k == '~':
			return string(typed), "", true, nil
		case g.FinishOnKey != "" && string(k) == g.FinishOnKey:
			return string(typed), g.FinishOnKey, true, nil
		case strings.ContainsRune("0123456789*#", k):
			typed = append(typed, k)
			if g.FinishOnKey == "" && len(typed) >= max(g.NumDigits, 1) {
				return string(typed), "", true, nil
			}
		default:
			return "", "", false, fmt.Errorf("%q is not a key of a phone (0-9, *, #; ~ waits for a time-out)", k)
		}
	}
}

// callEcho shows the keys sent: menu keys as they are, numbers masked,
// as they may be a card number or a secret.
func callEcho(g *twiml.Gather, digits, finished string) string {
	switch {
	case digits == "" && finished == "":
		return "(none: time-out)"
	case g.FinishOnKey == "":
		return digits
	}
	return strings.Repeat("*", len(digits)) + finished
}

// callKeys is where keys come from.
type callKeys interface {
	next(g *twiml.Gather) (rune, error)
}

// callScript is --keys: spaces are ignored; when the keys run out while
// the line still waits, the call failed.
type callScript struct {
	keys []rune
}

func (s *callScript) next(*twiml.Gather) (rune, error) {
	for len(s.keys) > 0 {
		k := s.keys[0]
		s.keys = s.keys[1:]
		if k != ' ' && k != '\t' && k != '\n' {
			return k, nil
		}
	}
	return 0, errors.New("the keys ran out before the call ended")
}

// callTerminal reads keys from a person: a line at a time, the keys on it
// typed ahead; an empty line is waiting for the time-out; the end of input
// hangs up.
type callTerminal struct {
	r       *bufio.Reader
	w       io.Writer
	pending []rune
}

func (t *callTerminal) next(g *twiml.Gather) (rune, error) {
	for len(t.pending) == 0 {
		if g.FinishOnKey != "" {
			fmt.Fprintf(t.w, "keys (end with %s, empty line to wait)> ", g.FinishOnKey)
		} else {
			fmt.Fprint(t.w, "key (empty line to wait)> ")
		}
		line, err := t.r.ReadString('\n')
		if err != nil && (err != io.EOF || line == "") {
			return 0, err
		}
		line = strings.Join(strings.Fields(line), "")
		if line == "" {
			return '~', nil
		}
		t.pending = []rune(line)
	}
	k := t.pending[0]
	t.pending = t.pending[1:]
	return k, nil
}

// given is the set of the flags given on the command line.
func given(fs *flag.FlagSet) map[string]bool {
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	return set
}
