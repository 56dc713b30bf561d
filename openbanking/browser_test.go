package openbanking_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"katong"
	"katong/browsertest"
)

// secondCard gives Alice a second account and card and returns its masked number.
func secondCard(t *testing.T, e *env) string {
	t.Helper()
	ctx := t.Context()
	a := e.w.Alice
	acct, err := e.w.Bank.OpenAccount(ctx, a.Customer.ID, "工资卡")
	if err != nil {
		t.Fatal(err)
	}
	pan := "622208555500001"
	for d := '0'; d <= '9'; d++ {
		if katong.Luhn(pan + string(d)) {
			pan += string(d)
			break
		}
	}
	card, err := e.w.Bank.IssueCard(ctx, a.Customer.ID, acct, pan, "")
	if err != nil {
		t.Fatal(err)
	}
	return card.Masked
}

// TestConsentPageBrowser approves a consent in headless Chromium: the
// customer logs in, reads the agreement, picks the card and approves; the
// browser lands on the client's redirect_uri with a code that exchanges
// for a token. Then the customer revokes it on 授权管理.
func TestConsentPageBrowser(t *testing.T) {
	e := newEnv(t)
	ctx := browsertest.New(t)
	a := e.w.Alice
	// A second card, so that Alice really picks one.
	second := secondCard(t, e)
	app := e.appToken(e.wallet)
	id := e.createConsent(app, map[string]any{"Permissions": allPerms})
	verifier, challenge := pkce()
	card := fmt.Sprintf("#card-%d", a.Card.ID)

	if err := chromedp.Do(ctx, chromedp.Navigate(e.authorizeURL(e.wallet, id, challenge, "b-1")+"&lang=zh"),
		chromedp.WaitVisible(chromedp.CSS("#mobile"))); err != nil {
		t.Fatal(err)
	}
	browsertest.Screenshot(t, ctx, "login")
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#mobile"), a.Mobile),
		chromedp.SendKeys(chromedp.CSS("#password"), a.Password),
		chromedp.Click(chromedp.CSS("#login")),
		chromedp.WaitVisible(chromedp.CSS("#approve"))); err != nil {
		t.Fatal(err)
	}
	page := browsertest.Text(t, ctx)
	for _, want := range []string{"卡通钱包", "卡通绑定协议", "6222 **** **** 7894", "查询账户余额"} {
		if !strings.Contains(page, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	checkNoPAN(t, "consent page", []byte(page), e.w)
	browsertest.Screenshot(t, ctx, "consent")

	// Approving without the agreement is refused on the page.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(card)), chromedp.Click(chromedp.CSS("#approve")),
		chromedp.WaitVisible(chromedp.CSS("#error"))); err != nil {
		t.Fatal(err)
	}
	if page := browsertest.Text(t, ctx); !strings.Contains(page, "请阅读并同意") {
		t.Errorf("approve without agreeing: %q", page)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#agree")), chromedp.Click(chromedp.CSS("#approve")),
		chromedp.WaitVisible(chromedp.CSS("#cb"))); err != nil {
		t.Fatal(err)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	if !strings.HasPrefix(loc, e.cb) || u.Query().Get("code") == "" || u.Query().Get("state") != "b-1" {
		t.Fatalf("after approval the browser is at %s; want %s?code=…&state=b-1", loc, e.cb)
	}
	r, m := e.token(e.wallet, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {e.cb}})
	if r.Status != 200 || m["access_token"] == nil {
		t.Fatalf("exchange the browser's code: %d %s", r.Status, r.Body)
	}
	access := m["access_token"].(string)
	var ab struct {
		Data struct {
			Account []struct {
				Account []struct{ Identification string }
			}
		}
	}
	e.api("GET", aisp+"/accounts", access, nil).json(t, &ab)
	if len(ab.Data.Account) != 1 || ab.Data.Account[0].Account[0].Identification != "6222********7894" {
		t.Errorf("the consent covers %+v; want only the picked card 6222********7894 (not %s)", ab.Data.Account, second)
	}

	// 授权管理 in English, then revoke.
	if err := chromedp.Do(ctx, chromedp.Navigate(e.base+"/oauth/consents?lang=en"),
		chromedp.WaitVisible(chromedp.CSS("#consent-"+id))); err != nil {
		t.Fatal(err)
	}
	if page := browsertest.Text(t, ctx); !strings.Contains(page, "Authorisations") || !strings.Contains(page, "See the balance") {
		t.Errorf("consents page in English: %q", page)
	}
	browsertest.Screenshot(t, ctx, "consents")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#consent-"+id+" button")),
		chromedp.WaitVisible(chromedp.CSS("#notice"))); err != nil {
		t.Fatal(err)
	}
	if r := e.api("GET", aisp+"/accounts", access, nil); r.Status != 401 {
		t.Errorf("after revoking in the browser: %d; want 401", r.Status)
	}
}
