package sip_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/ivr"
	"katong/ivr/prompts"
	"katong/ivr/prompts/promptstest"
	"katong/sip"
)

func samples(t *testing.T, set *prompts.Set, clips ...string) []int16 {
	t.Helper()
	s, err := promptstest.Clips(set, clips)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestBalanceCall is a whole call from a diago phone on loopback with the
// shipped prompts and keys by RFC 4733; what the line said is checked in
// the audio the phone heard.
func TestBalanceCall(t *testing.T) {
	t.Parallel()
	l := newLine(t, nil, nil)
	p, err := dial(t, l, "95500")
	if err != nil {
		t.Fatal(err)
	}
	p.hearStart(l.prompts, "zh/welcome", 0.8, 10*time.Second)
	p.press("1") // barge-in on the greeting
	p.hear(l.prompts, []string{"zh/enter_card"}, 10*time.Second)
	rec := p.recording()
	if _, score := promptstest.Find(rec, samples(t, l.prompts, "zh/welcome")); score > 0.8 {
		t.Errorf("the greeting was heard whole (%.2f): no barge-in", score)
	}
	if _, score := promptstest.Find(rec, samples(t, l.prompts, "zh/menu")); score > 0.8 {
		t.Errorf("the menu was heard (%.2f) after 1 was pressed", score)
	}
	p.press(l.w.Alice.PAN + "#")
	p.hearStart(l.prompts, "zh/enter_secret", 1, 10*time.Second)
	p.press("11010519491231002*#")
	p.hear(l.prompts, balanceClips(t, l.cfg, "7894", 120507), 20*time.Second)
	p.press("#")
	p.hear(l.prompts, []string{"zh/goodbye"}, 10*time.Second)
	if !p.hungUp(10 * time.Second) {
		t.Fatal("the line did not hang up after goodbye")
	}

	log, err := l.w.Bank.Auth.AuditLog(context.Background(), 0, 5)
	if err != nil || len(log) != 1 {
		t.Fatalf("audit %v %v", log, err)
	}
	if r := log[0]; r.Channel != katong.ChannelPhone || r.Result != "ok" || r.Actor != "caller:+86 138****8000" ||
		r.Card != "6222 **** **** 7894" || !strings.HasPrefix(r.Detail, "sip call ") {
		t.Fatalf("audit record %+v", r)
	}
	st := l.srv.Stats()
	if want := int64(1 + 17 + 19 + 1); st.Keys != want || st.KeysDropped != 0 || st.Calls != 1 {
		t.Fatalf("stats %+v; want %d keys, none dropped", st, want)
	}
	l.checkLog(t)
}

// TestSIPInfoKeys takes keys by SIP INFO, and checks that silence flows
// while the line waits.
func TestSIPInfoKeys(t *testing.T) {
	t.Parallel()
	set := tones(t)
	l := newLine(t, set, func(c *ivr.Config) { c.Auth = ivr.AuthPIN })
	p, err := dial(t, l, "95588") // a number mapped to the bank
	if err != nil {
		t.Fatal(err)
	}
	p.hear(set, []string{"zh/welcome", "zh/menu", "en/for_english"}, 5*time.Second)
	p.silence(25, 5*time.Second)
	p.info("1")
	p.hear(set, []string{"zh/enter_card"}, 5*time.Second)
	p.info(l.w.Bob.PAN + "#")
	p.hear(set, []string{"zh/enter_pin"}, 5*time.Second)
	p.info(l.w.Bob.PIN + "#")
	cfg := l.cfg
	p.hear(set, balanceClips(t, cfg, "0019", 50000), 5*time.Second)
	p.info("#")
	if !p.hungUp(5 * time.Second) {
		t.Fatal("no hang-up after #")
	}
	if st := l.srv.Stats(); st.Keys != 1+17+7+1 {
		t.Fatalf("stats %+v", st)
	}
	l.checkLog(t)
}

func TestTimeoutsEndTheCall(t *testing.T) {
	t.Parallel()
	set := tones(t)
	l := newLine(t, set, func(c *ivr.Config) { c.MenuTimeout = 200 * time.Millisecond })
	p, err := dial(t, l, "galaxy")
	if err != nil {
		t.Fatal(err)
	}
	if !p.hungUp(10 * time.Second) {
		t.Fatal("the line kept a silent caller")
	}
	_, score := promptstest.Find(p.recording(), samples(t, set, "zh/no_input", "zh/goodbye"))
	if score < 0.9 {
		t.Fatalf("goodbye not heard (%.2f)", score)
	}
}

func TestTransferByRefer(t *testing.T) {
	t.Parallel()
	set := tones(t)
	l := newLine(t, set, func(c *ivr.Config) { c.Agent = "sip:agent@127.0.0.1:5099" })
	p, err := dial(t, l, "95500")
	if err != nil {
		t.Fatal(err)
	}
	p.press("0")
	select {
	case to := <-p.referTo:
		if !strings.HasPrefix(to, "sip:agent@127.0.0.1:5099") {
			t.Fatalf("referred to %s", to)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no REFER\n" + l.log.String())
	}
	p.hear(set, []string{"zh/transfer"}, 5*time.Second)
	if !p.hungUp(10 * time.Second) {
		t.Fatal("the line kept the call after the transfer")
	}
	// The phone reported the transfer failed; the line says so in its log.
	if !strings.Contains(l.log.String(), "sip transfer failed") {
		t.Fatalf("log:\n%s", l.log.String())
	}
}

func TestUnknownNumber(t *testing.T) {
	l := newLine(t, tones(t), nil)
	if _, err := dial(t, l, "12345"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("dialling a number with no line: %v", err)
	}
}

func TestHangups(t *testing.T) {
	t.Parallel()
	set := tones(t)
	l := newLine(t, set, nil)
	p, err := dial(t, l, "95500")
	if err != nil {
		t.Fatal(err)
	}
	p.hear(set, []string{"zh/menu"}, 5*time.Second)
	// The caller hangs up in the middle of a card number.
	p.press("1622202")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := p.dialog.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for l.srv.Stats().Active != 0 {
		if time.Now().After(deadline) {
			t.Fatal("call still active after BYE")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Closing the server hangs up calls in progress.
	p, err = dial(t, l, "95500")
	if err != nil {
		t.Fatal(err)
	}
	p.hear(set, []string{"zh/menu"}, 5*time.Second)
	if err := l.srv.Close(); err != nil {
		t.Fatal(err)
	}
	if !p.hungUp(10 * time.Second) {
		t.Fatal("Close left the call up")
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	set := tones(t)
	line := sip.Line{Bank: "galaxy", IVR: ivr.New(ivr.Config{}, fixedBank{}, nil), Prompts: set}
	for name, tc := range map[string]struct {
		cfg   sip.Config
		lines []sip.Line
	}{
		"no port":        {sip.Config{Addr: "127.0.0.1"}, []sip.Line{line}},
		"bad port":       {sip.Config{Addr: "127.0.0.1:99999"}, []sip.Line{line}},
		"no prompts":     {sip.Config{Addr: "127.0.0.1:5060"}, []sip.Line{{Bank: "galaxy", IVR: line.IVR}}},
		"number nowhere": {sip.Config{Addr: "127.0.0.1:5060", Numbers: map[string]katong.BankID{"1": "lakeside"}}, []sip.Line{line}},
	} {
		if _, err := sip.New(tc.cfg, tc.lines, nil); err == nil {
			t.Errorf("%s: New took it", name)
		}
	}
	// A port in use is an error from Start, not a silent failure.
	l := newLine(t, set, nil)
	s2, err := sip.New(sip.Config{Addr: "127.0.0.1:" + strings.TrimPrefix(l.srv.Addr(), "127.0.0.1:")}, []sip.Line{line}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s2.Start(context.Background()); err == nil {
		s2.Close()
		t.Fatal("Start on a port in use")
	}
}
