package teller_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"katong/browsertest"
	"katong/testkit"
)

// TestBrowser logs in, runs an inquiry and opens its receipt in headless
// Chromium, with screenshots as artefacts.
func TestBrowser(t *testing.T) {
	e := newEnv(t)
	ctx := browsertest.New(t)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.prefix+"/?lang=zh"), // Chromium asks for English
		chromedp.WaitVisible(chromedp.CSS("#username")),
		chromedp.SendKeys(chromedp.CSS("#username"), "t001"),
		chromedp.SendKeys(chromedp.CSS("#password"), e.w.StaffPassword),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "1-login")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#login-submit")),
		chromedp.WaitVisible(chromedp.CSS("#card_number")),
	); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#card_number"), testkit.Spaced(e.w.Alice.PAN)),
		chromedp.SendKeys(chromedp.CSS("#id_number"), e.w.Alice.IDNumber),
	); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "2-inquiry")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#inquiry-submit")),
		chromedp.WaitVisible(chromedp.CSS("#available")),
	); err != nil {
		t.Fatal(err)
	}
	page := browsertest.Text(t, ctx)
	for _, want := range []string{"622202******7894", "*三", "¥1,205.07", "更新于"} {
		if !strings.Contains(page, want) {
			t.Errorf("result page lacks %q:\n%s", want, page)
		}
	}
	checkNoNumbers(t, "result page", page, e.canaries())
	browsertest.Screenshot(t, ctx, "3-result")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#receipt-link")),
		chromedp.WaitVisible(chromedp.CSS("#receipt")),
	); err != nil {
		t.Fatal(err)
	}
	receipt := browsertest.Text(t, ctx)
	for _, want := range []string{"余额单", "622202******7894", "¥1,205.07", "柜员一 (t001)", "南京路支行"} {
		if !strings.Contains(receipt, want) {
			t.Errorf("receipt lacks %q:\n%s", want, receipt)
		}
	}
	checkNoNumbers(t, "receipt", receipt, e.canaries())
	browsertest.Screenshot(t, ctx, "4-receipt")
	// The receipt's URL is an opaque id, never the card.
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, e.prefix+"/visits/") || strings.ContainsAny(strings.TrimPrefix(loc, e.prefix+"/visits/"), "0189") {
		t.Errorf("receipt URL %q; want an opaque visit id", loc)
	}
}
