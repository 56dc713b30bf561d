package bankapp_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"katong/browsertest"
)

// A customer logs in in a real browser, opens the balances, the
// account's balance and its records; screenshots are saved at each step.
func TestBrowserBalanceAndRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	e := newEnv(t)
	e.seed()
	bal := e.balanceOf(e.w.Alice.Account)
	ctx := browsertest.New(t)
	css := func(s string) chromedp.CSS { return chromedp.CSS(s) }
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(css(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/app/?lang=zh"), chromedp.WaitVisible(css("#mobile"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "1-login")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(css("#mobile"), e.w.Alice.Mobile),
		chromedp.SendKeys(css("#password"), e.w.Alice.Password),
		chromedp.Click(css("#login")),
		chromedp.WaitVisible(css(".tiles"))); err != nil {
		t.Fatalf("log-in: %v\n%s", err, browsertest.Text(t, ctx))
	}
	if got := text(".tile .amount"); got != "¥ ****" {
		t.Errorf("balance before the eye is opened = %q; want ¥ ****", got)
	}
	browsertest.Screenshot(t, ctx, "2-accounts-hidden")

	if err := chromedp.Do(ctx, chromedp.Click(css("#eye")), chromedp.WaitVisible(css(".asof-tile"))); err != nil {
		t.Fatal(err)
	}
	if got := text(".tile .amount"); got != bal.Available.Yuan() {
		t.Errorf("tile balance = %q; want %q", got, bal.Available.Yuan())
	}
	browsertest.Screenshot(t, ctx, "3-accounts-shown")

	if err := chromedp.Do(ctx, chromedp.Click(css("a.tile")), chromedp.WaitVisible(css("#available"))); err != nil {
		t.Fatal(err)
	}
	if got := text("#available"); got != bal.Available.Yuan() {
		t.Errorf("available = %q; want %q", got, bal.Available.Yuan())
	}
	if got := text("#booked"); got != bal.Booked.Yuan() {
		t.Errorf("booked = %q; want %q", got, bal.Booked.Yuan())
	}
	if got := text("#asof"); got != "更新于 10:32" {
		t.Errorf("as of = %q", got)
	}
	if got := text("#holds"); !strings.Contains(got, "预授权") || !strings.Contains(got, "¥88.00") {
		t.Errorf("holds = %q", got)
	}
	browsertest.Screenshot(t, ctx, "4-account")

	if err := chromedp.Do(ctx, chromedp.Click(css("#records-link")), chromedp.WaitVisible(css("#chart"))); err != nil {
		t.Fatal(err)
	}
	rows := text("table.entries tbody")
	for _, want := range []string{"现金支取", "-¥100.00", bal.Booked.Yuan(), "工资", "开户存入"} {
		if !strings.Contains(rows, want) {
			t.Errorf("records lack %q:\n%s", want, rows)
		}
	}
	browsertest.Screenshot(t, ctx, "5-records")

	// English, one tap away, and remembered.
	if err := chromedp.Do(ctx, chromedp.Click(css(`header a[hreflang="en"]`)), chromedp.WaitVisible(css("#chart"))); err != nil {
		t.Fatal(err)
	}
	if got := text("h1"); got != "Transaction records" {
		t.Errorf("title in English = %q", got)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/app/accounts"), chromedp.WaitVisible(css(".tiles"))); err != nil {
		t.Fatal(err)
	}
	if got := text("h1"); got != "My accounts" {
		t.Errorf("language not remembered: %q", got)
	}
	browsertest.Screenshot(t, ctx, "6-accounts-en")
}
