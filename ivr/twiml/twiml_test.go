package twiml_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/banktest"
	"katong/ivr"
	"katong/ivr/twiml"
	"katong/sqlstore"
	"katong/storetest"
	"katong/web"
)

const token = "test-auth-token"

// TestSignTwilioVector is Twilio's published example of request
// validation.
func TestSignTwilioVector(t *testing.T) {
	form := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+14158675310"},
		"Digits":  {"1234"},
		"From":    {"+14158675310"},
		"To":      {"+18005551212"},
	}
	got := twiml.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form)
	if want := "GvWf1cFY/Q7PnoempGyD5oXAezc="; got != want {
		t.Fatalf("Sign = %q; want %q", got, want)
	}
	// Any change of URL, parameter or token changes it.
	form.Set("Digits", "1235")
	if twiml.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", form) == got {
		t.Fatal("signature ignores the parameters")
	}
}

type line struct {
	w   *banktest.World
	srv *httptest.Server
	h   *twiml.Handler
	log strings.Builder
	now time.Time
}

func newLine(t *testing.T, edit func(*ivr.Config)) *line {
	t.Helper()
	return newLineOn(t, banktest.New(t), edit)
}

func newLineOn(t *testing.T, w *banktest.World, edit func(*ivr.Config)) *line {
	t.Helper()
	l := &line{w: w, now: time.Date(2026, 3, 2, 10, 30, 0, 0, katong.Shanghai)}
	l.w.Bank.Now = func() time.Time { return l.now }
	cfg := ivr.DefaultConfig(l.w.Bank.Config)
	if edit != nil {
		edit(&cfg)
	}
	log := slog.New(slog.NewTextHandler(&l.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	l.h = twiml.New(l.w.Bank, cfg, token, log)
	mux := http.NewServeMux()
	l.h.Register(mux)
	l.srv = httptest.NewServer(web.Middleware(log, mux))
	t.Cleanup(l.srv.Close)
	return l
}

func (l *line) caller() *twiml.Caller {
	return &twiml.Caller{URL: l.srv.URL + twiml.Path("galaxy"), Token: token, From: "+8613800138000", To: "95500"}
}

func said(t *twiml.Turn) string {
	var s []string
	for _, x := range t.Say {
		s = append(s, x.Text)
	}
	return strings.Join(s, " | ")
}

// must is a turn that must have worked: must(t)(c.Keys(…)).
func must(t *testing.T) func(*twiml.Turn, error) *twiml.Turn {
	return func(turn *twiml.Turn, err error) *twiml.Turn {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return turn
	}
}

func wantSaid(t *testing.T, turn *twiml.Turn, sub string) {
	t.Helper()
	if !strings.Contains(said(turn), sub) {
		t.Fatalf("said %q; want %q", said(turn), sub)
	}
}

// stored is the call's stored state, as the database holds it.
func (l *line) stored(t *testing.T, sid string) (string, bool) {
	var data []byte
	err := l.w.Bank.DB.QueryRowContext(context.Background(), `SELECT state FROM ivr_calls WHERE call_sid = $1`, sid).Scan(&data)
	return string(data), err == nil
}

func TestBalanceCallThroughTheWebhook(t *testing.T) {
	l := newLine(t, nil)
	ctx := context.Background()
	c := l.caller()
	turn := must(t)(c.Start(ctx))
	wantSaid(t, turn, "您好，欢迎致电星河银行。")
	g := turn.Gather
	if g == nil || g.NumDigits != 1 || g.FinishOnKey != "" || g.Timeout != 6 || !strings.HasSuffix(g.Action, "/ivr/twiml/key") {
		t.Fatalf("menu gather %+v", g)
	}
	if turn.Say[0].Language != "zh-CN" || turn.Say[len(turn.Say)-1].Language != "en-US" {
		t.Fatalf("languages %+v", turn.Say)
	}
	turn = must(t)(c.Keys(ctx, "1", ""))
	wantSaid(t, turn, "请输入您的银行卡号")
	// No numDigits on a number: the provider would end the gather there, before the #.
	if g := turn.Gather; g.FinishOnKey != "#" || g.NumDigits != 0 || g.Timeout != 8 || !strings.HasSuffix(g.Action, "/number") {
		t.Fatalf("number gather %+v", g)
	}
	turn = must(t)(c.Keys(ctx, l.w.Alice.PAN, "#"))
	wantSaid(t, turn, "请输入持卡人身份证号码或六位查询密码")
	// Between turns the card number is held only sealed.
	state, ok := l.stored(t, c.CallSid())
	if !ok || strings.Contains(state, l.w.Alice.PAN) || strings.Contains(state, "1234567894") || !strings.Contains(state, `"card"`) {
		t.Fatalf("stored state %s", state)
	}
	turn = must(t)(c.Keys(ctx, "11010519491231002*", "#"))
	wantSaid(t, turn, "您尾号七八九四的卡，可用余额为一千二百零五元零七分。")
	// After the check, no digits are held at all.
	if state, _ := l.stored(t, c.CallSid()); strings.Contains(state, `"card"`) || strings.Contains(state, `"buf"`) {
		t.Fatalf("digits kept after the check: %s", state)
	}
	turn = must(t)(c.Keys(ctx, "*", ""))
	wantSaid(t, turn, "一千二百零五元零七分")
	turn = must(t)(c.Keys(ctx, "#", ""))
	wantSaid(t, turn, "感谢您的来电，再见。")
	if !turn.Hangup || !turn.Ended() {
		t.Fatalf("last turn %+v", turn)
	}
	if _, ok := l.stored(t, c.CallSid()); ok {
		t.Fatal("state kept after the call ended")
	}
	log, _ := l.w.Bank.Auth.AuditLog(ctx, 0, 5)
	if len(log) != 1 || log[0].Channel != katong.ChannelPhone || log[0].Result != "ok" || !strings.HasPrefix(log[0].Detail, "twiml CA") {
		t.Fatalf("audit %+v", log)
	}
	// Nothing typed reached the log.
	for _, s := range []string{l.w.Alice.PAN, "1234567894", "11010519491231002", "13800138000"} {
		if strings.Contains(l.log.String(), s) {
			t.Fatalf("log holds %q:\n%s", s, l.log.String())
		}
	}
}

// TestCallOnPostgres runs a call's state through PostgreSQL: the SQL of
// the ivr_calls table is the same for both stores.
func TestCallOnPostgres(t *testing.T) {
	l := newLineOn(t, banktest.NewOn(t, storetest.PostgresSchema(t, sqlstore.BankSchema)), nil)
	ctx := context.Background()
	c := l.caller()
	must(t)(c.Start(ctx))
	must(t)(c.Keys(ctx, "1", ""))
	must(t)(c.Keys(ctx, l.w.Bob.PAN, "#"))
	if state, ok := l.stored(t, c.CallSid()); !ok || strings.Contains(state, l.w.Bob.PAN) {
		t.Fatalf("stored state %q", state)
	}
	turn := must(t)(c.Keys(ctx, l.w.Bob.PIN, "#"))
	wantSaid(t, turn, "五百元整")
	turn = must(t)(c.Keys(ctx, "#", ""))
	if !turn.Hangup {
		t.Fatalf("turn %+v", turn)
	}
	if _, ok := l.stored(t, c.CallSid()); ok {
		t.Fatal("state kept after the call")
	}
}

func TestSeveralInstancesServeOneCall(t *testing.T) {
	a := newLine(t, func(c *ivr.Config) { c.Auth = ivr.AuthPIN })
	// A second instance on the same bank database.
	h2 := twiml.New(a.w.Bank, ivr.Config{Auth: ivr.AuthPIN, Support: "95500"}, token, nil)
	mux := http.NewServeMux()
	h2.Register(mux)
	b := httptest.NewServer(mux)
	defer b.Close()
	ctx := context.Background()
	c := a.caller()
	must(t)(c.Start(ctx))
	bURL := b.URL + twiml.Path("galaxy")
	for i, step := range [][2]string{{"1", ""}, {a.w.Bob.PAN, "#"}, {a.w.Bob.PIN, "#"}} {
		if i%2 == 0 {
			c.URL = bURL
		} else {
			c.URL = a.srv.URL + twiml.Path("galaxy")
		}
		turn := must(t)(c.Keys(ctx, step[0], step[1]))
		if i == 2 {
			wantSaid(t, turn, "五百元整")
		}
	}
}

func TestSignatures(t *testing.T) {
	l := newLine(t, nil)
	ctx := context.Background()
	post := func(sig string, form url.Values, u string) int {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res.StatusCode
	}
	u := l.srv.URL + twiml.Path("galaxy")
	form := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}, "From": {"+8613800138000"}}
	if got := post(twiml.Sign(token, u, form), form, u); got != http.StatusOK {
		t.Fatalf("signed request: %d", got)
	}
	for name, sig := range map[string]string{
		"forged":        "GvWf1cFY/Q7PnoempGyD5oXAezc=",
		"wrong token":   twiml.Sign("another token", u, form),
		"other URL":     twiml.Sign(token, u+"/key", form),
		"other params":  twiml.Sign(token, u, url.Values{"CallSid": form["CallSid"], "From": {"+8613900139000"}}),
		"no signature":  "",
		"not base64 ok": "!!!",
	} {
		if got := post(sig, form, u); got != http.StatusForbidden {
			t.Errorf("%s: status %d; want 403", name, got)
		}
	}
	for _, path := range []string{"/key", "/number", "/status"} {
		if got := post("forged", form, u+path); got != http.StatusForbidden {
			t.Errorf("forged %s: status %d; want 403", path, got)
		}
	}
	// A line with no token refuses everything.
	h := twiml.New(l.w.Bank, ivr.Config{}, "", nil)
	mux := http.NewServeMux()
	h.Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	u2 := srv.URL + twiml.Path("galaxy")
	if got := post(twiml.Sign("", u2, form), form, u2); got != http.StatusForbidden {
		t.Errorf("tokenless line: status %d; want 403", got)
	}
	// A bad call id is refused.
	bad := url.Values{"CallSid": {"CA<script>"}}
	if got := post(twiml.Sign(token, u, bad), bad, u); got != http.StatusBadRequest {
		t.Errorf("bad CallSid: status %d; want 400", got)
	}
}

func TestBehindAProxy(t *testing.T) {
	l := newLine(t, nil)
	l.h.PublicURL = "https://ivr.galaxy.example"
	ctx := context.Background()
	form := url.Values{"CallSid": {"CA0123456789abcdef0123456789abcdef"}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, l.srv.URL+twiml.Path("galaxy"), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiml.Sign(token, "https://ivr.galaxy.example"+twiml.Path("galaxy"), form))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || res.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, cache %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
}

func TestGatherEdges(t *testing.T) {
	l := newLine(t, nil)
	ctx := context.Background()
	c := l.caller()
	must(t)(c.Start(ctx))
	turn := must(t)(c.Keys(ctx, "", "")) // menu time-out
	wantSaid(t, turn, "对不起，您没有输入。")
	must(t)(c.Keys(ctx, "1", ""))
	turn = must(t)(c.Keys(ctx, "", "#")) // a bare #
	wantSaid(t, turn, "对不起，您的输入有误。")
	turn = must(t)(c.Keys(ctx, "6222", "")) // time-out half-way
	wantSaid(t, turn, "对不起，您没有输入。")
	// * in a card number starts it again: the line says so and listens on.
	turn = must(t)(c.Keys(ctx, "99*"+l.w.Alice.PAN, "#"))
	wantSaid(t, turn, "请输入您的银行卡号")
	wantSaid(t, turn, "请输入持卡人身份证号码或六位查询密码")
	if turn.Gather == nil || turn.Gather.FinishOnKey != "#" || !strings.HasSuffix(turn.Gather.Action, "/number") {
		t.Fatalf("gather %+v", turn.Gather)
	}
	// A provider that does not send FinishedOnKey: digits are taken as ended by #.
	form := url.Values{"CallSid": {c.CallSid()}, "Digits": {"11010519491231002*"}}
	u := c.URL + "/number"
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiml.Sign(token, u, form))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), "一千二百零五元零七分") {
		t.Fatalf("answer %s", body)
	}
}

func TestTransferAndEnd(t *testing.T) {
	l := newLine(t, func(c *ivr.Config) { c.Agent = "sip:agent@pbx.galaxy.example" })
	ctx := context.Background()
	c := l.caller()
	must(t)(c.Start(ctx))
	turn := must(t)(c.Keys(ctx, "0", ""))
	wantSaid(t, turn, "正在为您转接人工服务")
	if turn.Dial != "sip:agent@pbx.galaxy.example" || !turn.Hangup || !turn.Ended() {
		t.Fatalf("transfer turn %+v", turn)
	}
	l2 := newLine(t, func(c *ivr.Config) { c.Agent = "+8695500" })
	c = l2.caller()
	must(t)(c.Start(ctx))
	if turn := must(t)(c.Keys(ctx, "0", "")); turn.Dial != "+8695500" {
		t.Fatalf("dial %+v", turn)
	}
	// Three time-outs at the menu end the call.
	c = l2.caller()
	must(t)(c.Start(ctx))
	for i := 0; i < 3; i++ {
		must(t)(c.Keys(ctx, "", ""))
	}
	if turn := must(t)(c.Keys(ctx, "", "")); !turn.Hangup {
		t.Fatalf("fourth time-out %+v", turn)
	}
	if _, err := c.Keys(ctx, "1", ""); err == nil {
		t.Fatal("keys after the end were taken")
	}
}

func TestStatusCallbackAndExpiry(t *testing.T) {
	l := newLine(t, nil)
	ctx := context.Background()
	c := l.caller()
	must(t)(c.Start(ctx))
	must(t)(c.Keys(ctx, "1", ""))
	must(t)(c.Keys(ctx, l.w.Alice.PAN, "#"))
	if _, ok := l.stored(t, c.CallSid()); !ok {
		t.Fatal("no state")
	}
	if err := c.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.stored(t, c.CallSid()); ok {
		t.Fatal("state kept after the caller hung up")
	}
	// An expired call starts again at the greeting.
	c = l.caller()
	must(t)(c.Start(ctx))
	l.now = l.now.Add(2 * time.Hour)
	turn := must(t)(c.Keys(ctx, "1", ""))
	wantSaid(t, turn, "您好，欢迎致电星河银行。")
	// Housekeeping purges expired calls, and only those.
	old := c.CallSid()
	l.now = l.now.Add(2 * time.Hour)
	fresh := l.caller()
	must(t)(fresh.Start(ctx))
	if err := l.h.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := l.stored(t, old); ok {
		t.Fatal("expired call not purged")
	}
	if _, ok := l.stored(t, fresh.CallSid()); !ok {
		t.Fatal("a live call was purged")
	}
}
