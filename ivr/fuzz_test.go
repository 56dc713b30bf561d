package ivr_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/bank"
	"katong/ivr"
)

// fuzzBank knows one card; its answers depend on the secret, so a fuzzed
// call meets every branch.
type fuzzBank struct{ n int }

func (f *fuzzBank) VerifyCard(ctx context.Context, pan string, s bank.Secret) (*katong.Card, error) {
	f.n++
	if pan != "6222021234567894" || s.PIN != "123456" && s.IDNumber != "11010519491231002X" {
		return nil, katong.Errorf(katong.ENotFound, "no")
	}
	return &katong.Card{Tail: "7894", Masked: "6222 **** **** 7894"}, nil
}

// AuditCardCheck keeps nothing: this test does not read the audit log.
func (*fuzzBank) AuditCardCheck(context.Context, katong.Channel, string, string, string, katong.Code) error {
	return nil
}

func (f *fuzzBank) Balance(ctx context.Context, q bank.Query) (*katong.Balance, error) {
	switch f.n % 4 {
	case 1:
		return nil, &katong.Error{Code: katong.ERateLimited, RetryAfter: 42 * time.Second}
	case 2:
		return nil, katong.Errorf(katong.EAbnormal, "frozen")
	}
	return &katong.Balance{Available: katong.Amount(f.n) * 100007, Booked: katong.Amount(f.n) * 100007}, nil
}

// fuzzKeys are the events: the twelve keys, a time-out ('~') and a key
// no phone should send ('D'); other input bytes map onto them.
const fuzzKeys = "0123456789*#~D"

// FuzzDTMF drives a call with any sequence of keys and time-outs: it
// never panics, every reply is well formed, no reply repeats a secret,
// and the call always ends within a bounded number of events.
func FuzzDTMF(f *testing.F) {
	for _, s := range []string{
		"1" + "6222021234567894#" + "123456#*#",
		"1" + "6222021234567894#" + "11010519491231002*#9*1",
		"~~~~",
		"0",
		"9" + "1" + "6222021234567894#" + "654321#" + "6222021234567894#654321#6222021234567894#654321#",
		"1#" + "6222021234567890#" + "41111111111111111#" + "~~",
		strings.Repeat("*", 60),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		cfg := ivr.Config{Support: "95500", Agent: "95500", BINs: []string{"622202"}, Liang: true}
		if len(in) > 0 {
			switch len(in) % 3 {
			case 1:
				cfg.Auth, cfg.Agent = ivr.AuthID, ""
			case 2:
				cfg.Auth, cfg.NoEnglish = ivr.AuthPIN, true
			}
		}
		line := ivr.New(cfg, &fuzzBank{}, func() time.Time { return time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) })
		c := line.Call("+8613800138000", "fuzz")
		ctx := context.Background()
		checkReply(t, c.Start(), "6222021234567894", "11010519491231002X", "123456")
		// Every event is a turn or one key of a number no longer than 24
		// keys, so a call has at most this many events.
		bound := line.Config().MaxTurns * 26
		events := 0
		next := func() []ivr.Action {
			var k byte = '~'
			if events < len(in) {
				if k = in[events]; strings.IndexByte(fuzzKeys, k) < 0 {
					k = fuzzKeys[int(k)%len(fuzzKeys)]
				}
			}
			events++
			if k == '~' {
				return c.Timeout()
			}
			return c.Key(ctx, rune(k))
		}
		for !c.Done() {
			if events > bound {
				t.Fatalf("call not over after %d events", events)
			}
			acts := next()
			checkReply(t, acts, "6222021234567894", "11010519491231002X", "123456")
			if len(acts) > 0 {
				switch acts[len(acts)-1].Kind {
				case ivr.Hangup, ivr.Transfer:
					if !c.Done() {
						t.Fatalf("%v but the call goes on", acts[len(acts)-1])
					}
				}
			}
		}
	})
}
