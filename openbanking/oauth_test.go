package openbanking_test

import (
	"bytes"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

const (
	aisp     = "/open-banking/v4.0/aisp"
	consents = aisp + "/account-access-consents"
)

// TestConsentFlow runs the whole consent flow over real HTTP: consent,
// login and approval on the bank's page (CSRF from the form), code
// exchange with PKCE, a wrong verifier refused, the code single-use, the
// token bound to the consent, refresh, and revocation by the customer at
// the bank and by the client, each ending access with 401.
func TestConsentFlow(t *testing.T) {
	e := newEnv(t)
	app := e.appToken(e.wallet)
	id := e.createConsent(app, map[string]any{"Permissions": allPerms})

	verifier, challenge := pkce()
	b := e.browser()
	page := b.login(e.authorizeURL(e.wallet, id, challenge, "xyz"), e.w.Alice)
	for _, want := range []string{"卡通钱包", "卡通绑定协议", "6222 **** **** 7894", "查询账户余额", `name="csrf"`} {
		if !bytes.Contains(page.Body, []byte(want)) {
			t.Errorf("consent page lacks %q", want)
		}
	}
	if bytes.Contains(page.Body, []byte("6222 **** **** 0019")) {
		t.Error("consent page shows another customer's card")
	}

	// A form without its CSRF token is refused and nothing is approved.
	form := formOf(page.Body)
	form.Del("csrf")
	form.Set("action", "approve")
	form.Set("card", "1")
	form.Set("agree", "yes")
	if r := b.post(e.base+"/oauth/authorize", form); r.Status == http.StatusFound || !bytes.Contains(r.Body, []byte("页面已过期")) {
		t.Fatalf("approve without CSRF: %d", r.Status)
	}

	u := b.decide(page, "approve", e.w.Alice.Card.ID)
	code := u.Query().Get("code")
	if code == "" || u.Query().Get("state") != "xyz" {
		t.Fatalf("approve redirected to %s; want code and state", u)
	}
	// The consent is AUTH now.
	var c struct{ Data struct{ Status string } }
	e.api("GET", consents+"/"+id, app, nil).json(t, &c)
	if c.Data.Status != "AUTH" {
		t.Errorf("consent status %q; want AUTH", c.Data.Status)
	}

	exchange := func(cl cred, code, verifier, redirect string) (*resp, map[string]any) {
		return e.token(cl, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier}, "redirect_uri": {redirect}})
	}
	wrong, _ := pkce()
	if r, m := exchange(e.wallet, code, wrong, e.cb); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("wrong verifier: %d %v; want 400 invalid_grant", r.Status, m)
	}
	if r, m := exchange(e.wallet, code, "", e.cb); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("no verifier: %d %v; want 400 invalid_grant", r.Status, m)
	}
	if r, m := exchange(e.wallet, code, verifier, e.cb+"/other"); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("other redirect_uri: %d %v; want 400 invalid_grant", r.Status, m)
	}
	if r, m := exchange(e.reader, code, verifier, e.cb); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("another client's code: %d %v; want 400 invalid_grant", r.Status, m)
	}
	if r, m := exchange(cred{e.wallet.id, "wrong"}, code, verifier, e.cb); r.Status != 401 || m["error"] != "invalid_client" ||
		r.Header.Get("X-Katong-Code") != "UNAUTHENTICATED" {
		t.Errorf("wrong client secret: %d %v; want 401 invalid_client", r.Status, m)
	}
	r, m := exchange(e.wallet, code, verifier, e.cb)
	if r.Status != 200 || m["token_type"] != "Bearer" || m["refresh_token"] == nil || m["expires_in"].(float64) != 600 {
		t.Fatalf("exchange: %d %s", r.Status, r.Body)
	}
	if r.Header.Get("Cache-Control") != "no-store" {
		t.Error("token answer is cacheable")
	}
	access, refresh := m["access_token"].(string), m["refresh_token"].(string)
	if r := e.api("GET", aisp+"/accounts", access, nil); r.Status != 200 {
		t.Fatalf("accounts with the new token: %d %s", r.Status, r.Body)
	}

	// The code is single-use; replaying it also ends the tokens it gave.
	if r, m := exchange(e.wallet, code, verifier, e.cb); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("code reuse: %d %v; want 400 invalid_grant", r.Status, m)
	}
	if r := e.api("GET", aisp+"/accounts", access, nil); r.Status != 401 {
		t.Errorf("after code replay the token still works: %d", r.Status)
	}
	// A refresh token is not an access token, and was ended too.
	if r := e.api("GET", aisp+"/accounts", refresh, nil); r.Status != 401 {
		t.Errorf("refresh token as bearer: %d; want 401", r.Status)
	}
	if r, m := e.token(e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("refresh after code replay: %d %v", r.Status, m)
	}

	// A fresh consent: refresh works; the customer revokes it at the bank.
	g := e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	r, m = e.token(e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.refresh}})
	if r.Status != 200 || m["access_token"] == nil {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	refreshed := m["access_token"].(string)
	if r := e.api("GET", aisp+"/accounts/"+g.accounts[0]+"/balances", refreshed, nil); r.Status != 200 {
		t.Fatalf("balances with a refreshed token: %d %s", r.Status, r.Body)
	}
	if r, _ := e.token(e.reader, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.refresh}}); r.Status != 400 {
		t.Errorf("another client refreshing: %d; want 400", r.Status)
	}

	list := b.get(e.base + "/oauth/consents")
	if list.Status != 200 || !bytes.Contains(list.Body, []byte("卡通钱包")) || !bytes.Contains(list.Body, []byte(g.consent)) {
		t.Fatalf("consents page: %d %s", list.Status, list.Body)
	}
	// Bob cannot revoke Alice's consent.
	bob := e.browser()
	bl := bob.get(e.base + "/oauth/consents")
	bf := formOf(bl.Body)
	bf.Set("mobile", e.w.Bob.Mobile)
	bf.Set("password", e.w.Bob.Password)
	if r := bob.post(e.base+"/oauth/consents", bf); r.Status != http.StatusSeeOther {
		t.Fatalf("Bob's login on the consents page: %d %s", r.Status, r.Body)
	}
	bl = bob.get(e.base + "/oauth/consents")
	if bytes.Contains(bl.Body, []byte(g.consent)) {
		t.Error("Bob sees Alice's consent")
	}
	bf = formOf(bl.Body)
	bf.Set("action", "revoke")
	bf.Set("consent", g.consent)
	bob.post(e.base+"/oauth/consents", bf)
	if r := e.api("GET", aisp+"/accounts", g.access, nil); r.Status != 200 {
		t.Fatalf("after Bob's attempt Alice's consent is gone: %d", r.Status)
	}

	rf := formOf(list.Body)
	rf.Set("action", "revoke")
	rf.Set("consent", g.consent)
	if r := b.post(e.base+"/oauth/consents", rf); r.Status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := b.get(e.base + "/oauth/consents?done=revoked"); !bytes.Contains(r.Body, []byte("已撤销授权")) {
		t.Errorf("no notice after revoking")
	}
	for _, tok := range []string{g.access, refreshed} {
		r := e.api("GET", aisp+"/accounts/"+g.accounts[0]+"/balances", tok, nil)
		if r.Status != 401 || r.Header.Get("X-Katong-Code") != "UNAUTHENTICATED" || len(r.Body) != 0 {
			t.Errorf("after revocation at the bank: %d %q %s; want 401 UNAUTHENTICATED, no body", r.Status, r.Header.Get("X-Katong-Code"), r.Body)
		}
	}
	e.api("GET", consents+"/"+g.consent, g.app, nil).json(t, &c)
	if c.Data.Status != "CANC" {
		t.Errorf("status after revocation at the bank %q; want CANC", c.Data.Status)
	}
	if r, _ := e.token(e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.refresh}}); r.Status != 400 {
		t.Errorf("refresh after revocation: %d; want 400", r.Status)
	}

	// Revoked by the client: DELETE, then 401, and the consent is gone.
	g2 := e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	if r := e.api("DELETE", consents+"/"+g2.consent, g2.app, nil); r.Status != 204 {
		t.Fatalf("DELETE consent: %d %s", r.Status, r.Body)
	}
	if r := e.api("GET", aisp+"/accounts", g2.access, nil); r.Status != 401 {
		t.Errorf("after DELETE: %d; want 401", r.Status)
	}
	if r := e.api("GET", consents+"/"+g2.consent, g2.app, nil); r.Status != 400 {
		t.Errorf("GET a deleted consent: %d; want 400", r.Status)
	}
	if r := e.api("DELETE", consents+"/"+g2.consent, g2.app, nil); r.Status != 400 {
		t.Errorf("DELETE twice: %d; want 400", r.Status)
	}
}

// TestRejectAndBadRequests: rejecting sends access_denied and RJCT; an
// unknown client or redirect_uri is shown on the page, never redirected;
// a request without PKCE is sent back with invalid_request.
func TestRejectAndBadRequests(t *testing.T) {
	e := newEnv(t)
	app := e.appToken(e.reader)
	id := e.createConsent(app, map[string]any{"Permissions": []string{"ReadAccountsBasic", "ReadBalances"}})
	_, challenge := pkce()
	b := e.browser()
	page := b.login(e.authorizeURL(e.reader, id, challenge, "s2"), e.w.Bob)
	if bytes.Contains(page.Body, []byte("卡通绑定协议")) {
		t.Error("an AIS-only client's page shows the binding agreement")
	}
	u := b.decide(page, "reject")
	if u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "s2" || u.Query().Get("code") != "" {
		t.Errorf("reject redirected to %s", u)
	}
	var c struct{ Data struct{ Status string } }
	e.api("GET", consents+"/"+id, app, nil).json(t, &c)
	if c.Data.Status != "RJCT" {
		t.Errorf("status after reject %q; want RJCT", c.Data.Status)
	}
	// A decided consent cannot be authorised again.
	r := b.get(e.authorizeURL(e.reader, id, challenge, "s3"))
	if loc, _ := url.Parse(r.Header.Get("Location")); r.Status != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("authorize a rejected consent: %d %s", r.Status, r.Header.Get("Location"))
	}

	id2 := e.createConsent(app, map[string]any{"Permissions": []string{"ReadAccountsBasic"}})
	good := e.authorizeURL(e.reader, id2, challenge, "s")
	for name, mut := range map[string]func(url.Values){
		"unknown client":   func(q url.Values) { q.Set("client_id", "nobody") },
		"foreign redirect": func(q url.Values) { q.Set("redirect_uri", "https://evil.example/cb") },
		"redirect prefix":  func(q url.Values) { q.Set("redirect_uri", e.cb+"x") },
	} {
		u, _ := url.Parse(good)
		q := u.Query()
		mut(q)
		u.RawQuery = q.Encode()
		r := b.get(u.String())
		if r.Status != 400 || r.Header.Get("Location") != "" {
			t.Errorf("%s: %d %q; want 400 on the page, no redirect", name, r.Status, r.Header.Get("Location"))
		}
	}
	for name, mut := range map[string]func(url.Values){
		"no PKCE":        func(q url.Values) { q.Del("code_challenge") },
		"plain PKCE":     func(q url.Values) { q.Set("code_challenge_method", "plain") },
		"token response": func(q url.Values) { q.Set("response_type", "token") },
		"other consent":  func(q url.Values) { q.Set("consent_id", id+"x") },
	} {
		u, _ := url.Parse(good)
		q := u.Query()
		mut(q)
		u.RawQuery = q.Encode()
		r := b.get(u.String())
		loc, _ := url.Parse(r.Header.Get("Location"))
		if r.Status != http.StatusFound || loc == nil || loc.Query().Get("error") == "" || loc.Query().Get("state") != "s" ||
			!strings.HasPrefix(loc.String(), e.cb) {
			t.Errorf("%s: %d %q; want a redirect with an error and the state", name, r.Status, r.Header.Get("Location"))
		}
	}
	// Another client's consent cannot be authorised through this client.
	wapp := e.appToken(e.wallet)
	wid := e.createConsent(wapp, map[string]any{"Permissions": []string{"ReadAccountsBasic"}})
	r = b.get(e.authorizeURL(e.reader, wid, challenge, "s"))
	if loc, _ := url.Parse(r.Header.Get("Location")); r.Status != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("another client's consent: %d %s", r.Status, r.Header.Get("Location"))
	}
	// No card chosen: the page asks again.
	page = b.get(good)
	form := formOf(page.Body)
	form.Set("action", "approve")
	if r := b.post(e.base+"/oauth/authorize", form); r.Status != 400 || !bytes.Contains(r.Body, []byte("请至少选择一张银行卡")) {
		t.Errorf("approve without a card: %d", r.Status)
	}
	// Another customer's card is not accepted.
	form.Set("card", "3")
	if r := b.post(e.base+"/oauth/authorize", form); r.Status == http.StatusFound {
		t.Errorf("approve with another customer's card: redirected to %s", r.Header.Get("Location"))
	}
	// English on request.
	if r := b.get(good + "&lang=en"); !bytes.Contains(r.Body, []byte("Reader App asks to access your Galaxy Bank accounts")) {
		t.Errorf("English consent page: %s", r.Body)
	}
}

// TestLoginLockout: the bank's lock-out applies to the consent page's login.
func TestLoginLockout(t *testing.T) {
	e := newEnv(t)
	app := e.appToken(e.reader)
	id := e.createConsent(app, map[string]any{"Permissions": []string{"ReadAccountsBasic"}})
	_, challenge := pkce()
	b := e.browser()
	page := b.get(e.authorizeURL(e.reader, id, challenge, "s"))
	form := formOf(page.Body)
	form.Set("mobile", e.w.Alice.Mobile)
	form.Set("password", "wrong-password-123")
	for i := 0; i < 5; i++ {
		if r := b.post(e.base+"/oauth/authorize", form); !bytes.Contains(r.Body, []byte("手机号或密码错误")) {
			t.Fatalf("wrong password %d: %d", i, r.Status)
		}
	}
	form.Set("password", e.w.Alice.Password)
	if r := b.post(e.base+"/oauth/authorize", form); r.Status == http.StatusSeeOther || !bytes.Contains(r.Body, []byte("错误次数过多")) {
		t.Errorf("right password after 5 wrong ones: %d; want locked", r.Status)
	}
}

// TestConsentExpiry: after its ExpirationDateTime a consent is EXPD
// (TKXP) and its tokens get 401.
func TestConsentExpiry(t *testing.T) {
	e := newEnv(t)
	exp := e.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	g := e.authorise(e.wallet, allPerms, e.w.Alice, map[string]any{"ExpirationDateTime": exp})
	var c struct {
		Data struct {
			Status, ExpirationDateTime string
			StatusReason               []struct{ StatusReasonCode string }
		}
	}
	e.api("GET", consents+"/"+g.consent, g.app, nil).json(t, &c)
	if c.Data.ExpirationDateTime != exp {
		t.Errorf("ExpirationDateTime %q; want it unchanged %q", c.Data.ExpirationDateTime, exp)
	}
	if r := e.api("GET", aisp+"/accounts", g.access, nil); r.Status != 200 {
		t.Fatalf("before expiry: %d", r.Status)
	}
	e.clock.Advance(61 * time.Minute)
	if r := e.api("GET", aisp+"/accounts", g.access, nil); r.Status != 401 {
		t.Errorf("after expiry: %d; want 401", r.Status)
	}
	app := e.appToken(e.wallet)
	e.api("GET", consents+"/"+g.consent, app, nil).json(t, &c)
	if c.Data.Status != "EXPD" || len(c.Data.StatusReason) != 1 || c.Data.StatusReason[0].StatusReasonCode != "TKXP" {
		t.Errorf("after expiry: %+v; want EXPD with TKXP", c.Data)
	}
	// Codes live 60 s.
	id := e.createConsent(app, map[string]any{"Permissions": []string{"ReadAccountsBasic"}})
	verifier, challenge := pkce()
	b := e.browser()
	u := b.decide(b.login(e.authorizeURL(e.wallet, id, challenge, "s"), e.w.Alice), "approve", e.w.Alice.Card.ID)
	e.clock.Advance(61 * time.Second)
	if r, m := e.token(e.wallet, url.Values{"grant_type": {"authorization_code"}, "code": {u.Query().Get("code")},
		"code_verifier": {verifier}, "redirect_uri": {e.cb}}); r.Status != 400 || m["error"] != "invalid_grant" {
		t.Errorf("a code after 61 s: %d %v", r.Status, m)
	}
	// Access tokens live 10 minutes.
	g = e.authorise(e.wallet, allPerms, e.w.Alice, nil)
	e.clock.Advance(10*time.Minute + time.Second)
	if r := e.api("GET", aisp+"/accounts", g.access, nil); r.Status != 401 {
		t.Errorf("a token after 10 min: %d; want 401", r.Status)
	}
	if r, _ := e.token(e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {g.refresh}}); r.Status != 200 {
		t.Errorf("refresh after the access token expired: %d", r.Status)
	}
}

// TestTokenEndpoint: grant and client errors per RFC 6749 §5.2.
func TestTokenEndpoint(t *testing.T) {
	e := newEnv(t)
	for name, tc := range map[string]struct {
		c      cred
		form   url.Values
		status int
		err    string
	}{
		"unknown client":   {cred{"nobody", "x"}, url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"no secret":        {cred{e.wallet.id, ""}, url.Values{"grant_type": {"client_credentials"}}, 401, "invalid_client"},
		"bad scope":        {e.wallet, url.Values{"grant_type": {"client_credentials"}, "scope": {"payments admin"}}, 400, "invalid_scope"},
		"no grant":         {e.wallet, url.Values{}, 400, "invalid_request"},
		"password grant":   {e.wallet, url.Values{"grant_type": {"password"}}, 400, "unsupported_grant_type"},
		"unknown code":     {e.wallet, url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}}, 400, "invalid_grant"},
		"unknown refresh":  {e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, 400, "invalid_grant"},
		"app token as one": {e.wallet, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {e.appToken(e.wallet)}}, 400, "invalid_grant"},
	} {
		r, m := e.token(tc.c, tc.form)
		if r.Status != tc.status || m["error"] != tc.err {
			t.Errorf("%s: %d %v; want %d %s", name, r.Status, m, tc.status, tc.err)
		}
	}
	// Client credentials in the form body work too.
	req, _ := http.NewRequest("POST", e.base+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"},
		"client_id": {e.reader.id}, "client_secret": {e.reader.secret}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if r := e.do(req); r.Status != 200 {
		t.Errorf("client_secret_post: %d %s", r.Status, r.Body)
	}
}

// TestPageInk: the text on the bank's colour (header, main button) is
// white on a dark colour and dark on a light one, so a light bank colour
// stays readable.
func TestPageInk(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct{ colour, ink string }{{"#1d4ed8", "#ffffff"}, {"#fde047", "#111827"}} {
		e.w.Bank.Config.Colour = c.colour
		r := e.browser().get(e.base + "/oauth/consents")
		want := "--bank: " + c.colour + "; --bank-ink: " + c.ink + ";"
		if r.Status != 200 || !strings.Contains(string(r.Body), want) {
			t.Errorf("bank colour %s: %d, page lacks %q", c.colour, r.Status, want)
		}
	}
}
