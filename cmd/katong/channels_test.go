package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"katong"
	"katong/bank"
	"katong/demo"
	"katong/ivr/twiml"
)

// TestPhoneWebhookBehindProxy: with public_url set, as docs/configuration.md
// says to do behind a proxy that ends TLS, the phone webhook checks the
// provider's signature over the public https:// address; without it, over
// the address the request came to.
func TestPhoneWebhookBehindProxy(t *testing.T) {
	form := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}}
	post := func(s *server, signed string) int {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080"+twiml.Path("galaxy"), strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiml.Sign(demo.TwiMLToken, signed+twiml.Path("galaxy"), form))
		w := httptest.NewRecorder()
		s.mux.ServeHTTP(w, req)
		return w.Code
	}
	for _, tc := range []struct {
		public, signed string
		want           int
	}{
		{"https://ivr.galaxy.example", "https://ivr.galaxy.example", http.StatusOK},
		{"https://ivr.galaxy.example", "http://127.0.0.1:8080", http.StatusForbidden},
		{"", "http://127.0.0.1:8080", http.StatusOK},
	} {
		env := map[string]string{"KATONG_PUBLIC_URL": tc.public}
		cfg, err := parseServeFlags([]string{"--demo", "--data", t.TempDir(), "--addr", "127.0.0.1:8080", "--sip", "off"},
			func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		s, err := newServer(context.Background(), cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if got := post(s, tc.signed); got != tc.want {
			t.Errorf("public_url %q, signed over %s: %d; want %d", tc.public, tc.signed, got, tc.want)
		}
		s.Close()
	}
}

// TestAnnounce: the start-up text names the phone lines of the banks this
// process serves, and SIP addresses only when the SIP listener runs.
func TestAnnounce(t *testing.T) {
	lakeside := &bank.Bank{Config: katong.Bank{ID: "lakeside", Name: "湖畔银行", Support: "95566"}}
	var out bytes.Buffer
	s := &server{cfg: &Config{PublicURL: "http://127.0.0.1:8081", Role: "bank", SIP: SIPConfig{Addr: "127.0.0.1:5060"}},
		banks: []*bank.Bank{lakeside}, sipOn: true}
	s.announce(&out, "127.0.0.1:8081")
	if got := out.String(); !strings.Contains(got, "sip:95566@127.0.0.1:5060") || strings.Contains(got, "95500") ||
		strings.Contains(got, "galaxy") || strings.Contains(got, "wallet") {
		t.Errorf("a lakeside bank process announces:\n%s", got)
	}
	out.Reset()
	s.sipOn = false
	s.announce(&out, "127.0.0.1:8081")
	if got := out.String(); strings.Contains(got, "sip:") {
		t.Errorf("without a SIP listener:\n%s", got)
	}
}
