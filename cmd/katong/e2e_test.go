package main_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"katong"
	"katong/browsertest"
	"katong/demo"
)

// bankAppAvailable logs in to the bank app's JSON API as the customer and
// returns the available balance (fen) of the account of the card ending
// in tail.
func bankAppAvailable(t *testing.T, base string, c demo.Customer, tail string) int64 {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"mobile": c.Mobile, "password": c.Password, "device": "e2e"})
	resp, err := http.Post(base+"/api/v1/sessions", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var s struct {
		Token string `json:"token"`
	}
	json.NewDecoder(resp.Body).Decode(&s)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/accounts", nil)
	req.Header.Set("Authorization", "Bearer "+s.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Accounts []struct {
			Card struct {
				Tail string `json:"tail"`
			} `json:"card"`
			AvailableFen int64 `json:"available_fen"`
		} `json:"accounts"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	for _, a := range out.Accounts {
		if a.Card.Tail == tail {
			return a.AvailableFen
		}
	}
	t.Fatalf("bank app shows no card ending %s: %+v", tail, out)
	return 0
}

// TestDemoWalletInBrowser is the demo as a person uses it, on the real
// binary: a wallet user binds their card through the bank's consent page,
// reads the live balance, pays, and the bank app shows the same money.
// The wallet reaches the bank over HTTP, as configured by --demo.
func TestDemoWalletInBrowser(t *testing.T) {
	browsertest.Browser(t)
	p := start(t, "--demo", "--data", t.TempDir())
	base := "http://" + p.addr
	w := demo.Info()
	cust, user := w.Customers[0], w.WalletUsers[0]
	card := cust.Cards[0]
	tail := katong.Tail(card.Number)
	before := bankAppAvailable(t, base+"/banks/"+string(cust.Bank), cust, tail)

	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/wallet/login?lang=zh"),
		chromedp.SendKeys(chromedp.CSS("#mobile"), user.Mobile),
		chromedp.SendKeys(chromedp.CSS("#password"), user.Password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#menu-cards")),
		chromedp.Click(chromedp.CSS("#menu-cards")),
		chromedp.WaitVisible(chromedp.CSS("#add-card")),
		chromedp.Click(chromedp.CSS("#add-card")),
		chromedp.WaitVisible(chromedp.CSS("#card_number")),
		chromedp.SendKeys(chromedp.CSS("#card_number"), card.Number),
		chromedp.Click(chromedp.CSS("#bind")),
		chromedp.WaitVisible(chromedp.CSS("#password")),
		chromedp.SendKeys(chromedp.CSS("#mobile"), cust.Mobile),
		chromedp.SendKeys(chromedp.CSS("#password"), cust.Password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#approve")),
		chromedp.Click(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#approve"))); err != nil {
		browsertest.Screenshot(t, ctx, "bind")
		t.Fatalf("bind: %v\n%s", err, browsertest.Text(t, ctx))
	}
	browsertest.WaitText(t, ctx, "h1", func(s string) bool { return s == "卡详情" })
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#eye"))); err != nil {
		t.Fatal(err)
	}
	want := katong.Amount(before).Yuan()
	browsertest.WaitText(t, ctx, "#available", func(s string) bool { return s == want })
	browsertest.Screenshot(t, ctx, "balance")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#amount")),
		chromedp.SendKeys(chromedp.CSS("#amount"), "12.34"),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
		t.Fatalf("pay: %v", err)
	}
	browsertest.WaitText(t, ctx, "#status", func(s string) bool { return s == "支付成功" })
	if after := bankAppAvailable(t, base+"/banks/"+string(cust.Bank), cust, tail); after != before-1234 {
		t.Fatalf("bank app API shows %s after paying 12.34 from %s", katong.Amount(after).Yuan(), katong.Amount(before).Yuan())
	}

	// The customer sees it in the bank app too, in the same browser.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/banks/"+string(cust.Bank)+"/app/?lang=zh"),
		chromedp.WaitVisible(chromedp.CSS("#eye"))); err != nil {
		t.Fatalf("bank app: %v\n%s", err, browsertest.Text(t, ctx))
	}
	loggedOut, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!document.querySelector('#mobile')`))
	if err != nil {
		t.Fatal(err)
	}
	if loggedOut {
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#mobile"), cust.Mobile),
			chromedp.SendKeys(chromedp.CSS("#password"), cust.Password),
			chromedp.Click(chromedp.CSS("#login")),
			chromedp.WaitVisible(chromedp.CSS(".tiles"))); err != nil {
			t.Fatalf("bank app log-in: %v\n%s", err, browsertest.Text(t, ctx))
		}
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#eye")), chromedp.WaitVisible(chromedp.CSS(".asof-tile"))); err != nil {
		t.Fatal(err)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('a.tile')]
		.filter(a => a.querySelector('.masked').textContent.trim().endsWith('`+tail+`'))
		.map(a => a.querySelector('.amount').textContent.trim())[0] || ''`))
	if err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "bank-app-after-payment")
	if want := katong.Amount(before - 1234).Yuan(); shown != want {
		t.Fatalf("the bank app page shows %q for the card after paying 12.34; want %q", shown, want)
	}
}

// TestSeparateProcesses is the production shape: a bank in one process
// with its own database, the wallet in another, reaching the bank only at
// its configured URL. Starting a binding in the wallet creates a consent
// at the bank process and sends the customer to the bank's own page.
func TestSeparateProcesses(t *testing.T) {
	bankAddr, walletAddr := freePort(t), freePort(t)
	conf := filepath.Join(t.TempDir(), "split.json")
	os.WriteFile(conf, []byte(`{"wallet_url": "http://`+walletAddr+`",
		"banks": [{"id": "galaxy", "url": "http://`+bankAddr+`/banks/galaxy"},
		          {"id": "lakeside", "url": "http://`+freePort(t)+`/banks/lakeside"}]}`), 0o600)
	startAt(t, bankAddr, "--demo", "--config", conf, "--role", "bank", "--bank", "galaxy", "--data", t.TempDir())
	startAt(t, walletAddr, "--demo", "--config", conf, "--role", "wallet", "--data", t.TempDir())
	for _, c := range []struct {
		url    string
		status int
	}{
		{"http://" + bankAddr + "/banks/galaxy/app/", 200},
		{"http://" + bankAddr + "/wallet/", 404},
		{"http://" + walletAddr + "/wallet/login", 200},
		{"http://" + walletAddr + "/banks/galaxy/app/", 404},
	} {
		resp, err := http.Get(c.url)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.status {
			t.Errorf("GET %s = %d, want %d", c.url, resp.StatusCode, c.status)
		}
	}
	w := demo.Info()
	user, card := w.WalletUsers[0], w.Customers[0].Cards[0]
	post := func(path, token string, body any) map[string]any {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest(http.MethodPost, "http://"+walletAddr+"/wallet/api/v1/"+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return m
	}
	s := post("sessions", "", map[string]string{"mobile": user.Mobile, "password": user.Password})
	token, _ := s["token"].(string)
	if token == "" {
		t.Fatalf("wallet login: %v", s)
	}
	b := post("bind", token, map[string]string{"card_number": card.Number})
	authorize, _ := b["authorize_url"].(string)
	if !strings.HasPrefix(authorize, "http://"+bankAddr+"/banks/galaxy/oauth/authorize?") {
		t.Fatalf("bind did not send the customer to the bank process: %v", b)
	}
	resp, err := http.Get(authorize)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(page), "星河银行") {
		t.Fatalf("the bank's consent page: %d %.500s", resp.StatusCode, page)
	}
}
