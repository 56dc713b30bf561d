package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"katong/banktest"
	"katong/ivr"
	"katong/ivr/twiml"
)

const callTestToken = "call-test-token"

// callTestServer is a bank's line behind its TwiML webhook.
func callTestServer(t *testing.T) (*banktest.World, string) {
	t.Helper()
	w := banktest.New(t)
	mux := http.NewServeMux()
	twiml.New(w.Bank, ivr.DefaultConfig(w.Bank.Config), callTestToken, nil).Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return w, srv.URL
}

func callRun(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err := runCall(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return out.String() + errOut.String(), err
}

func TestCallWithKeys(t *testing.T) {
	w, url := callTestServer(t)
	out, err := callRun(t, "", "--bank", "galaxy", "--server", url, "--token", callTestToken,
		"--keys", "1 "+w.Alice.PAN+"# 11010519491231002*# #")
	if err != nil {
		t.Fatalf("call: %v\n%s", err, out)
	}
	for _, want := range []string{"line: 您好，欢迎致电星河银行。", "keys: 1\n", "keys: ****************#",
		"line: 您尾号七八九四的卡，可用余额为一千二百零五元零七分。", "line: 感谢您的来电，再见。", "-- the line hung up"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, w.Alice.PAN) || strings.Contains(out, "11010519491231002") {
		t.Errorf("output shows the numbers typed:\n%s", out)
	}
	// Waiting out the menu three times and once more ends the call too.
	if out, err := callRun(t, "", "--server", url, "--token", callTestToken, "--keys", "~~~~"); err != nil || !strings.Contains(out, "keys: (none: time-out)") {
		t.Fatalf("time-outs: %v\n%s", err, out)
	}
}

func TestCallInteractive(t *testing.T) {
	w, url := callTestServer(t)
	t.Setenv("KATONG_TWIML_TOKEN", callTestToken)
	// Keys typed ahead on one line serve the gathers after it; an empty
	// line waits for the time-out; the end of input hangs up.
	stdin := "1\n" + w.Bob.PAN + "\n#\n\n" + w.Bob.PIN + "#9\n"
	out, err := callRun(t, stdin, "--server", url)
	if err != nil {
		t.Fatalf("call: %v\n%s", err, out)
	}
	for _, want := range []string{"keys (end with #, empty line to wait)> ", "您尾号零零幺九的卡，可用余额为五百元整。",
		"The card ending in zero zero one nine has an available balance of five hundred yuan.", "-- you hung up"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// The card number typed over two lines is one number; the empty line
	// after it is one time-out.
	if !strings.Contains(out, "keys: ****************#") || strings.Count(out, "keys: (none: time-out)") != 1 {
		t.Errorf("keys sent:\n%s", out)
	}
}

func TestCallFails(t *testing.T) {
	w, url := callTestServer(t)
	t.Setenv("KATONG_TWIML_TOKEN", "")
	for name, tc := range map[string]struct {
		args []string
		want string
	}{
		"no token":      {[]string{"--server", url}, "no auth token"},
		"wrong token":   {[]string{"--server", url, "--token", "nope", "--keys", "1"}, "403"},
		"keys run out":  {[]string{"--server", url, "--token", callTestToken, "--keys", "1 " + w.Alice.PAN}, "keys ran out"},
		"not a key":     {[]string{"--server", url, "--token", callTestToken, "--keys", "x"}, "not a key"},
		"no server":     {[]string{"--server", "http://127.0.0.1:1", "--token", callTestToken, "--keys", "1"}, "call:"},
		"stray operand": {[]string{"--token", callTestToken, "now"}, "unexpected argument"},
		"bad flag":      {[]string{"--nope"}, "flag provided but not defined"},
	} {
		out, err := callRun(t, "", tc.args...)
		if err == nil || !strings.Contains(err.Error()+out, tc.want) {
			t.Errorf("%s: err %v; want %q\n%s", name, err, tc.want, out)
		}
	}
}
