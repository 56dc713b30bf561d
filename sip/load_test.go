package sip_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"katong"
)

// TestSIPLoad is the line under load: sipp places whole balance calls at
// a fixed rate, each with the shipped prompts playing (the greeting, the
// card and secret prompts cut short by keys, the balance heard whole),
// keys by RFC 4733 pcaps, until the line hangs up. It reports the most
// calls held at once and the keys lost. It runs only when asked:
//
//	KATONG_SIP_LOAD=1 go test -run TestSIPLoad -v ./sip/
//	KATONG_SIP_LOAD=1 KATONG_SIP_LOAD_RATE=4 KATONG_SIP_LOAD_CALLS=400 go test -run TestSIPLoad -v -timeout 20m ./sip/
//
// It passes when every call completes and every key arrives.
func TestSIPLoad(t *testing.T) {
	if os.Getenv("KATONG_SIP_LOAD") == "" {
		t.Skip("load test: set KATONG_SIP_LOAD=1 (and KATONG_SIP_LOAD_RATE calls/s, KATONG_SIP_LOAD_CALLS)")
	}
	needTool(t, "sipp")
	rate := envFloat(t, "KATONG_SIP_LOAD_RATE", 2)
	calls := int(envFloat(t, "KATONG_SIP_LOAD_CALLS", 60))
	l := newLine(t, nil, nil)
	l.w.Bank.Config.Limits.Phone = katong.Rate{} // one card called all the time: no per-card limit here
	// Spaces are pauses of a second: the prompts play while the caller waits.
	keys := "1  " + l.w.Bob.PAN + "#  " + l.w.Bob.PIN + "#        #"
	scen := sippScenario(t, t.TempDir(), keys, false)

	var peak atomic.Int64
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go func() {
		for ctx.Err() == nil {
			if a := l.srv.Stats().Active; a > peak.Load() {
				peak.Store(a)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start := time.Now()
	limit := time.Duration(float64(calls)/rate*float64(time.Second)) + 3*time.Minute
	p := startTool(t, limit, t.TempDir(), "sipp", sippArgs(t, l, scen, "95500",
		"-r", strconv.FormatFloat(rate*10, 'f', 0, 64), "-rp", "10000", "-m", strconv.Itoa(calls),
		"-timeout", strconv.Itoa(int(limit.Seconds())-10)+"s")...)
	sippErr := p.wait()
	stop()
	elapsed := time.Since(start)

	st := l.srv.Stats()
	perCall := int64(len(strings.ReplaceAll(keys, " ", "")))
	ok, results := 0, map[string]int{}
	for before := int64(0); ; {
		log, err := l.w.Bank.Auth.AuditLog(context.Background(), before, 500)
		if err != nil {
			t.Fatal(err)
		}
		if len(log) == 0 {
			break
		}
		for _, r := range log {
			results[r.Result]++
			if r.Result == "ok" {
				ok++
			}
		}
		before = log[len(log)-1].ID
	}
	report := fmt.Sprintf("sip load: %d calls at %.1f/s in %s: peak %d calls held, %d answered, %d balances said (audit results %v), keys %d of %d (%d lost), sipp: %v",
		calls, rate, elapsed.Round(time.Second), peak.Load(), st.Calls, ok, results, st.Keys, int64(calls)*perCall,
		int64(calls)*perCall-st.Keys+st.KeysDropped, sippErr)
	t.Log(report)
	fmt.Fprintln(os.Stderr, report)
	if sippErr != nil || st.Calls != int64(calls) || st.Keys != int64(calls)*perCall || st.KeysDropped != 0 || ok != calls {
		tail := p.out.String()
		if len(tail) > 4000 {
			tail = tail[len(tail)-4000:]
		}
		t.Fatalf("calls lost or keys dropped\n%s", tail)
	}
}

func envFloat(t testing.TB, name string, def float64) float64 {
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		t.Fatalf("%s=%q: want a positive number", name, s)
	}
	return v
}
