package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"katong"
)

// TestServeDemo starts `katong serve --demo` as a newcomer would and
// checks that it answers, that the demo world is there, that nothing it
// logs holds a full card or ID number, and that it stops gracefully.
func TestServeDemo(t *testing.T) {
	data := t.TempDir()
	p := start(t, "--demo", "--data", data)
	for _, path := range []string{"/healthz", "/readyz", "/", "/banks/galaxy/teller/login"} {
		resp, err := http.Get("http://" + p.addr + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: no security headers", path)
		}
	}
	var w struct {
		Customers []struct {
			Mobile   string `json:"mobile"`
			IDNumber string `json:"id_number"`
			Cards    []struct {
				Number string `json:"number"`
			} `json:"cards"`
		} `json:"customers"`
	}
	if err := json.Unmarshal([]byte(run(t, "demo", "info", "--json")), &w); err != nil || len(w.Customers) != 12 {
		t.Fatalf("demo info: %v (%d customers)", err, len(w.Customers))
	}
	p.stop(t)
	logs := p.out.String()
	// The demo logins are printed on stdout on purpose; the JSON log lines
	// on stderr must hold none of them.
	for _, line := range strings.Split(logs, "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		for _, c := range w.Customers {
			for _, card := range c.Cards {
				if strings.Contains(line, card.Number) || strings.Contains(line, c.IDNumber) {
					t.Errorf("log line holds a card or ID number: %s", katong.Redact(line))
				}
			}
		}
	}
	if !strings.Contains(logs, "demo bank ready") {
		t.Errorf("no start-up log:\n%s", logs)
	}
	// A second start finds the seeded world and does not seed again.
	p = start(t, "--demo", "--data", data)
	p.stop(t)
	if strings.Count(p.out.String(), "demo bank ready") != 2 {
		t.Errorf("second start:\n%s", p.out.String())
	}
	files, _ := filepath.Glob(filepath.Join(data, "*.db"))
	if len(files) != 3 {
		t.Errorf("data directory holds %v, want galaxy, lakeside and wallet databases", files)
	}
}

// TestServeRefusesBadConfig checks that a wrong configuration stops the
// start with a clear message and a non-zero exit.
func TestServeRefusesBadConfig(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"serve", "--role", "teller", "--demo"}, "role must be all, bank or wallet"},
		{[]string{"serve", "--role", "bank", "--bank", "nowhere", "--demo"}, "needs --bank naming a configured bank"},
		{[]string{"serve"}, "master_key"},
		{[]string{"serve", "--demo", "--role", "wallet"}, "needs its url"},
		{[]string{"serve", "--demo", "--role", "bank", "--bank", "galaxy"}, "needs redirect_uris or wallet_url"},
		{[]string{"frobnicate"}, "unknown command"},
	} {
		cmd := exec.Command(binary(t), c.args...)
		cmd.Env = append(os.Environ(), "KATONG_MASTER_KEY=", "KATONG_CONFIG=")
		out, err := cmd.CombinedOutput()
		if err == nil || !regexp.MustCompile(regexp.QuoteMeta(c.want)).Match(out) {
			t.Errorf("katong %v: err %v, output %q; want an error saying %q", c.args, err, out, c.want)
		}
	}
	if out := run(t, "version"); !strings.HasPrefix(out, "katong ") {
		t.Errorf("version: %q", out)
	}
}
