package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"katong"
	"katong/demo"
	"katong/testkit"
)

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// form posts a form with the CSRF token of the page at path.
func form(t *testing.T, c *http.Client, base, path, action string, v url.Values) string {
	t.Helper()
	resp, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfField.FindSubmatch(page); m != nil {
		v.Set("csrf", string(m[1]))
	}
	resp, err = c.PostForm(base+action, v)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return string(body)
}

// TestCanary is RELIABILITY.md S3/S4 on the real binary: known card, ID
// and PIN numbers are typed into every channel (bank app, teller counter,
// phone line), and afterwards no line the process logged holds any of
// them, and no page or answer holds a full card number.
func TestCanary(t *testing.T) {
	p := start(t, "--demo", "--data", t.TempDir())
	base := "http://" + p.addr
	w := demo.Info()
	c := w.Customers[0]
	card := c.Cards[0]
	canaries := []string{card.Number, testkit.Spaced(card.Number), c.IDNumber}
	bankURL := base + "/banks/" + string(c.Bank)

	// Bank app.
	bal := bankAppAvailable(t, bankURL, c, katong.Tail(card.Number))

	// Teller counter: log in, card + ID inquiry.
	jar, _ := cookiejar.New(nil)
	tc := &http.Client{Jar: jar}
	var staff demo.Staff
	for _, s := range w.Staff {
		if s.Bank == c.Bank && s.Role == "teller" {
			staff = s
		}
	}
	form(t, tc, bankURL, "/teller/login", "/teller/login", url.Values{"username": {staff.Username}, "password": {staff.Password}})
	page := form(t, tc, bankURL, "/teller/", "/teller/inquiry", url.Values{"card_number": {testkit.Spaced(card.Number)}, "id_number": {c.IDNumber}})
	if want := katong.Amount(bal).Yuan(); !strings.Contains(page, strings.TrimPrefix(want, "¥")) {
		t.Errorf("teller inquiry does not show the balance %s:\n%.2000s", want, page)
	}
	testkit.CheckNoCardNumbers(t, "teller result", page, canaries...)

	// Phone line, through the TwiML webhook, as `katong call` does.
	out := run(t, "call", "--bank", string(c.Bank), "--server", base, "--token", demo.TwiMLToken,
		"--keys", "1 "+card.Number+"# "+card.PIN+"# #", "--caller", c.Mobile)
	if !strings.Contains(out, "尾号") || !strings.Contains(out, "可用余额") {
		t.Errorf("the phone line did not read the card's tail:\n%s", out)
	}
	testkit.CheckNoCardNumbers(t, "katong call output", out, canaries...)

	p.stop(t)
	// Every JSON log line, without its timestamp (whose digits could
	// match a PIN by chance), holds none of the numbers.
	for _, line := range strings.Split(p.out.String(), "\n") {
		if !strings.HasPrefix(line, "{") {
			continue
		}
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			t.Errorf("log line is not JSON: %q", line)
			continue
		}
		delete(m, "time")
		rest, _ := json.Marshal(m)
		testkit.CheckNoCardNumbers(t, "log line", string(rest), append(canaries, card.PIN)...)
	}
}
