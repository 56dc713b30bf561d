package wallet_test

import (
	"context"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"katong"
	"katong/bank"
	"katong/browsertest"
)

// TestWalletBrowser is the wallet in headless Chromium: log in, bind a card
// through the bank's consent page, open 我的 → 银行卡 → the card and read
// its balance behind the eye; then pay, and see the balance change at
// the bank.
func TestWalletBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test")
	}
	e := newEnv(t, options{})
	alice := e.world.Alice
	e.user(alice.Mobile)
	ctx := browsertest.New(t)

	// Log in.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/wallet/login?lang=zh"), // the browser asks for English
		chromedp.SendKeys(chromedp.CSS("#mobile"), alice.Mobile),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#menu-cards"))); err != nil {
		t.Fatalf("log in: %v", err)
	}
	browsertest.Screenshot(t, ctx, "me")

	// 银行卡 → 添加银行卡 → the bank's page: log in there, agree, approve.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#menu-cards")),
		chromedp.WaitVisible(chromedp.CSS("#add-card")),
		chromedp.Click(chromedp.CSS("#add-card")),
		chromedp.WaitVisible(chromedp.CSS("#card_number")),
		chromedp.SendKeys(chromedp.CSS("#card_number"), "6222 0212 3456 7894"),
		chromedp.Click(chromedp.CSS("#bind")),
		chromedp.WaitVisible(chromedp.CSS("#password"))); err != nil {
		t.Fatalf("bind: %v", err)
	}
	browsertest.Screenshot(t, ctx, "bank-login")
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#mobile"), alice.Mobile),
		chromedp.SendKeys(chromedp.CSS("#password"), alice.Password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#approve"))); err != nil {
		t.Fatalf("bank log-in: %v", err)
	}
	browsertest.Screenshot(t, ctx, "bank-consent")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#agree")),
		chromedp.Click(chromedp.CSS("#approve"))); err != nil {
		t.Fatalf("approve: %v", err)
	}
	browsertest.WaitText(t, ctx, "h1", func(s string) bool { return s == "卡详情" })
	browsertest.Screenshot(t, ctx, "bound")

	// 我的 → 银行卡 → the card: the balance is hidden until the eye opens.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("a.brand")),
		chromedp.WaitVisible(chromedp.CSS("#menu-cards")),
		chromedp.Click(chromedp.CSS("#menu-cards")),
		chromedp.WaitVisible(chromedp.CSS("a.card")),
		chromedp.Click(chromedp.CSS("a.card")),
		chromedp.WaitVisible(chromedp.CSS("#available"))); err != nil {
		t.Fatalf("open the card: %v", err)
	}
	if s := browsertest.WaitText(t, ctx, "#available", func(string) bool { return true }); s != "¥ ****" {
		t.Fatalf("balance shown before the eye is opened: %q", s)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#eye"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "#available", func(s string) bool { return s == "¥1,205.07" })
	if s := browsertest.WaitText(t, ctx, "#asof", func(string) bool { return true }); !strings.HasPrefix(s, "更新于 ") {
		t.Errorf("as-of = %q", s)
	}
	browsertest.Screenshot(t, ctx, "card")

	// Pay, and the bank's balance moves.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#pay")),
		chromedp.WaitVisible(chromedp.CSS("#amount")),
		chromedp.SendKeys(chromedp.CSS("#amount"), "8.88"),
		chromedp.Click(chromedp.CSS("#confirm")),
		chromedp.WaitVisible(chromedp.CSS("#status"))); err != nil {
		t.Fatalf("pay: %v", err)
	}
	browsertest.WaitText(t, ctx, "#status", func(s string) bool { return s == "支付成功" })
	browsertest.Screenshot(t, ctx, "paid")
	bal, err := e.world.Bank.Balance(context.Background(), bank.Query{Channel: katong.ChannelApp, Actor: "test", Card: alice.Card})
	if err != nil {
		t.Fatal(err)
	}
	if bal.Available != 120507-888 {
		t.Fatalf("the bank's balance = %s; want %s", bal.Available.Yuan(), katong.Amount(120507-888).Yuan())
	}
	// And the wallet reads it back from the bank.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.url+"/wallet/cards"),
		chromedp.WaitVisible(chromedp.CSS("a.card")),
		chromedp.Click(chromedp.CSS("a.card")),
		chromedp.WaitVisible(chromedp.CSS("#available"))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "#available", func(s string) bool { return s == "¥1,196.19" })

	// English is one tap away.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`a[lang="en"]`))); err != nil {
		t.Fatal(err)
	}
	browsertest.WaitText(t, ctx, "h1", func(s string) bool { return s == "Card details" })
	browsertest.Screenshot(t, ctx, "card-en")
	e.checkNoPAN(alice)
}
