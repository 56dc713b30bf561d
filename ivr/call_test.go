package ivr_test

import (
	"context"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/bank"
	"katong/banktest"
	"katong/ivr"
)

// clipNames is the set a clip set must hold.
var clipNames = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range ivr.Clips() {
		m[c.Name] = true
	}
	return m
}()

// checkReply checks what every reply must be: clips that exist, words
// without secrets, and a last action that says what happens next.
func checkReply(t testing.TB, acts []ivr.Action, secrets ...string) {
	t.Helper()
	for i, a := range acts {
		switch a.Kind {
		case ivr.Say:
			if a.Text == "" || len(a.Clips) == 0 {
				t.Fatalf("empty say: %+v", a)
			}
			for _, c := range a.Clips {
				if !clipNames[c] {
					t.Fatalf("say %q uses clip %q, which no clip set has", a.Text, c)
				}
				if !strings.HasPrefix(c, string(a.Lang)+"/") {
					t.Fatalf("say in %s uses clip %q", a.Lang, c)
				}
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(a.Text, s) {
					t.Fatalf("say %q contains a secret", a.Text)
				}
			}
			if i == len(acts)-1 {
				t.Fatalf("reply ends with a say: %v", acts)
			}
		case ivr.Collect, ivr.Hangup, ivr.Transfer:
			if i != len(acts)-1 {
				t.Fatalf("%v is not last in %v", a, acts)
			}
		default:
			t.Fatalf("unknown action %+v", a)
		}
	}
}

type harness struct {
	t    *testing.T
	w    *banktest.World
	line *ivr.Line
	call *ivr.Call
	now  time.Time
	last []ivr.Action
}

func newHarness(t *testing.T, edit func(*ivr.Config)) *harness {
	t.Helper()
	w := banktest.New(t)
	h := &harness{t: t, w: w, now: time.Date(2026, 3, 2, 10, 30, 0, 0, katong.Shanghai)}
	w.Bank.Now = func() time.Time { return h.now }
	cfg := ivr.DefaultConfig(w.Bank.Config)
	if edit != nil {
		edit(&cfg)
	}
	h.line = ivr.New(cfg, w.Bank, func() time.Time { return h.now })
	h.dial()
	return h
}

// dial starts a new call.
func (h *harness) dial() {
	h.call = h.line.Call("13800138000", "test")
	h.reply(h.call.Start())
}

func (h *harness) reply(acts []ivr.Action) {
	h.t.Helper()
	w := h.w
	checkReply(h.t, acts, w.Alice.PAN, w.Alice.IDNumber, w.Bob.PAN, w.Bob.IDNumber, w.Alice.PIN, w.Bob.PIN, "1234567894")
	if acts != nil {
		h.last = acts
	}
}

// keys presses keys; '~' is a time-out; spaces are ignored.
func (h *harness) keys(s string) {
	h.t.Helper()
	for _, k := range s {
		switch k {
		case ' ':
		case '~':
			h.reply(h.call.Timeout())
		default:
			h.reply(h.call.Key(context.Background(), k))
		}
	}
}

// said is what the last reply said.
func (h *harness) said() string {
	var s []string
	for _, a := range h.last {
		if a.Kind == ivr.Say {
			s = append(s, a.Text)
		}
	}
	return strings.Join(s, " | ")
}

// keypad is how an ID number is keyed: * for X.
func keypad(id string) string { return strings.ReplaceAll(id, "X", "*") }

func (h *harness) next() ivr.Action { return h.last[len(h.last)-1] }

func (h *harness) wantSaid(sub string) {
	h.t.Helper()
	if !strings.Contains(h.said(), sub) {
		h.t.Fatalf("said %q; want it to contain %q", h.said(), sub)
	}
}

func (h *harness) wantNext(k ivr.Kind) {
	h.t.Helper()
	if got := h.next().Kind; got != k {
		h.t.Fatalf("next action %v; want kind %d (said %q)", h.next(), k, h.said())
	}
}

// failures is the card's count of wrong secrets in the bank's lock-out.
func (h *harness) failures(pan string) int {
	h.t.Helper()
	n, _, err := h.w.Bank.Auth.Failures(context.Background(), "card:"+string(h.w.Bank.Vault.Lookup("pan", pan)))
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

func TestCallGreetsAndOffersTheMenu(t *testing.T) {
	h := newHarness(t, nil)
	h.wantSaid("您好，欢迎致电星河银行。")
	h.wantSaid("余额查询请按1，人工服务请按0。")
	h.wantSaid("For English, press 9.")
	c := h.next()
	if c.Kind != ivr.Collect || c.Finish != 0 || c.Timeout != 6*time.Second {
		t.Fatalf("menu collect = %+v; want one key within 6 s", c)
	}
}

func TestBalanceByIDNumber(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("1")
	h.wantSaid("请输入您的银行卡号，以井号键结束。")
	if c := h.next(); c.Finish != '#' || c.Timeout != 8*time.Second {
		t.Fatalf("card collect = %+v; want until # within 8 s", c)
	}
	// Digits being typed get no reply.
	if acts := h.call.Key(context.Background(), '6'); acts != nil {
		t.Fatalf("a digit got a reply: %v", acts)
	}
	h.keys(h.w.Alice.PAN[1:] + "#")
	h.wantSaid("请输入持卡人身份证号码或六位查询密码，以井号键结束，字母X请用星号键代替。")
	if c := h.next(); c.Finish != '#' || c.Timeout != 8*time.Second {
		t.Fatalf("secret collect = %+v", c)
	}
	h.keys("11010519491231002*#") // * is the X of 11010519491231002X
	h.wantSaid("您尾号七八九四的卡，可用余额为一千二百零五元零七分。")
	h.wantSaid("重听请按星号键")
	h.wantNext(ivr.Collect)

	// The query is audited on the phone channel with the caller masked.
	log, err := h.w.Bank.Auth.AuditLog(context.Background(), 0, 1)
	if err != nil || len(log) != 1 {
		t.Fatalf("audit log %v, %v", log, err)
	}
	r := log[0]
	if r.Channel != katong.ChannelPhone || r.Actor != "caller:+86 138****8000" || r.Card != "6222 **** **** 7894" || r.Result != "ok" || r.Detail != "test" {
		t.Fatalf("audit record %+v", r)
	}

	// * repeats without a new query; # ends.
	h.keys("*")
	h.wantSaid("可用余额为一千二百零五元零七分")
	if log, _ := h.w.Bank.Auth.AuditLog(context.Background(), 0, 10); len(log) != 1 {
		t.Fatalf("* queried again: %d audit records", len(log))
	}
	h.keys("#")
	h.wantSaid("感谢您的来电，再见。")
	h.wantNext(ivr.Hangup)
	if !h.call.Done() {
		t.Fatal("call not done after #")
	}
	if acts := h.call.Key(context.Background(), '1'); acts != nil {
		t.Fatalf("key after the end got %v", acts)
	}
	if acts := h.call.Timeout(); acts != nil {
		t.Fatalf("time-out after the end got %v", acts)
	}
}

func TestBalanceByPIN(t *testing.T) {
	h := newHarness(t, func(c *ivr.Config) { c.Auth = ivr.AuthPIN })
	h.keys("1" + h.w.Bob.PAN + "#")
	h.wantSaid("请输入六位查询密码")
	h.keys(h.w.Bob.PIN + "#")
	h.wantSaid("您尾号零零幺九的卡，可用余额为五百元整。")
}

func TestAuthIDAsksForTheIDNumber(t *testing.T) {
	h := newHarness(t, func(c *ivr.Config) { c.Auth = ivr.AuthID })
	h.keys("1" + h.w.Alice.PAN + "#")
	h.wantSaid("请输入持卡人身份证号码，以井号键结束，字母X请用星号键代替。")
	h.keys(h.w.Alice.PIN + "#") // a PIN is no ID number here
	h.wantSaid("您输入的身份证号码有误。")
	h.keys("11010519491231002*#")
	h.wantSaid("一千二百零五元零七分")
}

func TestAuthPINTakesOnlyAPIN(t *testing.T) {
	h := newHarness(t, func(c *ivr.Config) { c.Auth = ivr.AuthPIN })
	h.keys("1" + h.w.Alice.PAN + "#")
	h.keys("110105194912310021#")
	h.wantSaid("查询密码应为六位数字。")
	h.keys("12345*")
	h.wantSaid("请输入六位查询密码") // * starts the PIN again
	h.keys(h.w.Alice.PIN + "#")
	h.wantSaid("一千二百零五元零七分")
}

func TestEitherTakesThePIN(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("1" + h.w.Alice.PAN + "#")
	h.keys("1234#") // neither a PIN nor an ID number
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	h.keys("1234567*#")
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	h.keys(h.w.Alice.PIN + "#")
	h.wantSaid("一千二百零五元零七分")
	if n := h.failures(h.w.Alice.PAN); n != 0 {
		t.Fatalf("invalid input counted %d failures", n)
	}
}

func TestEnglish(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("9")
	h.wantSaid("For your balance, press 1. For an agent, press 0.")
	h.wantSaid("中文服务请按9。")
	h.keys("1" + h.w.Alice.PAN + "#" + h.w.Alice.IDNumber[:17] + "*#")
	h.wantSaid("The card ending in seven eight nine four has an available balance of one thousand two hundred and five yuan seven fen.")
	h.wantSaid("To hear this again, press star.")
	// 9 at the answer says it again in Chinese.
	h.keys("9")
	h.wantSaid("您尾号七八九四的卡，可用余额为一千二百零五元零七分。")
	if h.call.Lang() != katong.ZH {
		t.Fatalf("lang %s after 9 twice", h.call.Lang())
	}
}

func TestNoEnglish(t *testing.T) {
	h := newHarness(t, func(c *ivr.Config) { c.NoEnglish = true })
	if strings.Contains(h.said(), "English") {
		t.Fatalf("menu offers English: %q", h.said())
	}
	h.keys("9")
	h.wantSaid("对不起，您的输入有误。")
}

func TestMenuKeys(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("*")
	h.wantSaid("余额查询请按1")
	for _, k := range []string{"5", "#", "A"} {
		h.keys(k)
		h.wantSaid("对不起，您的输入有误。")
	}
	// Three re-prompts used: the fourth invalid key ends the call.
	h.keys("7")
	h.wantSaid("再见")
	h.wantNext(ivr.Hangup)
}

func TestAgent(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("0")
	h.wantSaid("人工服务暂不可用，请拨打客服电话九五五零零。")
	h.wantNext(ivr.Collect)

	h = newHarness(t, func(c *ivr.Config) { c.Agent = "sip:agent@127.0.0.1" })
	h.keys("0")
	h.wantSaid("正在为您转接人工服务，请稍候。")
	h.wantNext(ivr.Transfer)
	if h.next().Target != "sip:agent@127.0.0.1" || !h.call.Done() {
		t.Fatalf("transfer %+v, done %v", h.next(), h.call.Done())
	}

	// 0 after the answer too.
	h = newHarness(t, func(c *ivr.Config) { c.Agent = "95500" })
	h.keys("1" + h.w.Bob.PAN + "#" + h.w.Bob.PIN + "#0")
	h.wantNext(ivr.Transfer)
}

func TestTimeouts(t *testing.T) {
	h := newHarness(t, nil)
	for i := 0; i < 3; i++ {
		h.keys("~")
		h.wantSaid("对不起，您没有输入。")
		h.wantSaid("余额查询请按1")
		h.wantNext(ivr.Collect)
	}
	h.keys("~")
	h.wantSaid("对不起，您没有输入。 | 感谢您的来电，再见。")
	h.wantNext(ivr.Hangup)

	// A time-out in the middle of a number drops what was typed.
	h.dial()
	h.keys("1 6222 ~")
	h.wantSaid("请输入您的银行卡号")
	h.keys(h.w.Alice.PAN + "#")
	h.wantSaid("请输入持卡人身份证号码或六位查询密码")

	// Progress resets the count: a time-out at each step does not end the call.
	h.dial()
	h.keys("~ ~ 1 ~ ~" + h.w.Bob.PAN + "# ~ ~" + h.w.Bob.PIN + "#")
	h.wantSaid("五百元整")
}

func TestInvalidNumbersAreNotTries(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("1 6222021234567890#") // fails Luhn
	h.wantSaid("您输入的卡号有误。")
	h.wantSaid("请输入您的银行卡号")
	h.keys("4111111111111111#") // another bank's card
	h.wantSaid("该卡不是本行发行的卡")
	h.keys(h.w.Alice.PAN + "#")
	h.keys("#") // a bare # is invalid input, not a try
	h.wantSaid("对不起，您的输入有误。")
	h.wantSaid("请输入持卡人身份证号码")
	h.keys("110105194912310021#") // wrong check digit: never reaches the bank
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	if n := h.failures(h.w.Alice.PAN); n != 0 {
		t.Fatalf("invalid input counted %d failures", n)
	}
	h.dial()
	h.keys("1" + h.w.Alice.PAN + "# 1101051949*231002*#") // * is X only at the end
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	h.dial()
	h.keys("1" + h.w.Alice.PAN + "# 12345#")
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	h.keys("1234567#")
	h.wantSaid("您输入的身份证号码或查询密码有误。")
	if n := h.failures(h.w.Alice.PAN); n != 0 {
		t.Fatalf("invalid input counted %d failures", n)
	}
	// Too many keys is invalid input at once.
	h.dial()
	h.keys("1 1234567890123456789012345")
	h.wantSaid("对不起，您的输入有误。")
	// * starts a number again.
	h.dial()
	h.keys("1 999*")
	h.wantSaid("请输入您的银行卡号")
	h.keys(h.w.Alice.PAN + "#")
	h.wantSaid("请输入持卡人身份证号码或六位查询密码")
}

func TestWrongSecretsEndTheCallAndLockTheCard(t *testing.T) {
	h := newHarness(t, nil)
	wrong := "110101199003074477#" // Bob's ID: valid, but not Alice's
	h.keys("1")
	for i := 1; i <= 2; i++ {
		h.keys(h.w.Alice.PAN + "#" + wrong)
		h.wantSaid("账户不存在，请核对您输入的卡号和验证信息。")
		h.wantSaid("请输入您的银行卡号")
	}
	h.keys(h.w.Alice.PAN + "#" + wrong)
	h.wantSaid("输入错误次数过多。")
	h.wantNext(ivr.Hangup)
	if n := h.failures(h.w.Alice.PAN); n != 3 {
		t.Fatalf("failures = %d; want 3", n)
	}
	// Each inquiry that ended at the card check is audited too.
	log, err := h.w.Bank.Auth.AuditLog(context.Background(), 0, 10)
	if err != nil || len(log) != 3 {
		t.Fatalf("audit %+v %v", log, err)
	}
	for _, r := range log {
		if r.Channel != katong.ChannelPhone || r.Result != string(katong.ENotFound) || r.Card != "6222 **** **** 7894" ||
			r.Actor != "caller:+86 138****8000" || r.Detail != "test" {
			t.Fatalf("audit record %+v", r)
		}
	}
	// The count survives the redial and is the bank's lock-out: two more
	// lock the card, and then even the right ID number is "not found".
	h.dial()
	h.keys("1")
	for i := 0; i < 2; i++ {
		h.keys(h.w.Alice.PAN + "#" + wrong)
	}
	h.keys(h.w.Alice.PAN + "#" + keypad(h.w.Alice.IDNumber) + "#")
	h.wantSaid("输入错误次数过多。")
	if _, locked, _ := h.w.Bank.Auth.Failures(context.Background(), "card:"+string(h.w.Bank.Vault.Lookup("pan", h.w.Alice.PAN))); !locked {
		t.Fatal("card not locked after 5 wrong secrets")
	}
	// A locked card sounds the same as an unknown one (S10).
	h.dial()
	h.keys("1" + h.w.Alice.PAN + "#" + keypad(h.w.Alice.IDNumber) + "#")
	locked := h.said()
	h.dial()
	h.keys("1 6222020000000106#" + keypad(h.w.Alice.IDNumber) + "#")
	if unknown := h.said(); unknown != locked {
		t.Fatalf("locked card said %q, unknown card %q", locked, unknown)
	}
}

func TestFrozenAccount(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("1" + h.w.Frozen.PAN + "#" + keypad(h.w.Frozen.IDNumber) + "#")
	h.wantSaid("账户异常，请联系银行客服，客服电话九五五零零。")
	h.wantSaid("重听请按星号键")
	h.keys("9")
	h.wantSaid("Your account is restricted. Please call the bank's support line on nine five five zero zero.")
	log, _ := h.w.Bank.Auth.AuditLog(context.Background(), 0, 1)
	if len(log) != 1 || log[0].Result != string(katong.EAbnormal) {
		t.Fatalf("audit %+v", log)
	}
}

func TestRateLimited(t *testing.T) {
	h := newHarness(t, func(c *ivr.Config) { c.MaxTurns = 200 })
	h.now = time.Date(2026, 3, 2, 10, 30, 30, 0, katong.Shanghai) // 30 s left in the minute's window
	h.keys("1")
	for i := 0; i < 10; i++ { // the bank's phone limit is 10 a minute
		h.keys(h.w.Bob.PAN + "#" + h.w.Bob.PIN + "#")
		h.wantSaid("五百元整")
		h.keys("1")
	}
	h.keys(h.w.Bob.PAN + "#" + h.w.Bob.PIN + "#")
	h.wantSaid("查询过于频繁，请三十秒后再试。")
	h.keys("9")
	h.wantSaid("Too many queries. Please try again in thirty seconds.")
}

// fakeBank answers with the error it is given.
type fakeBank struct {
	verify, balance error
	block           bool
}

var fakeCard = &katong.Card{ID: 1, AccountID: 1, Tail: "0128", Masked: "6222 **** **** 0128"}

func (f *fakeBank) VerifyCard(ctx context.Context, pan string, s bank.Secret) (*katong.Card, error) {
	if f.block {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	return fakeCard, f.verify
}

func (f *fakeBank) Balance(ctx context.Context, q bank.Query) (*katong.Balance, error) {
	if f.balance != nil {
		return nil, f.balance
	}
	return &katong.Balance{Available: 100000, Booked: 250000}, nil
}

// AuditCardCheck keeps nothing: this test does not read the audit log.
func (*fakeBank) AuditCardCheck(context.Context, katong.Channel, string, string, string, katong.Code) error {
	return nil
}

// auditingBank is a fakeBank whose audit log fails.
type auditingBank struct{ fakeBank }

func (a *auditingBank) AuditCardCheck(ctx context.Context, ch katong.Channel, actor, pan, detail string, result katong.Code) error {
	return errors.New("audit log full")
}

func TestAuditFailureIsSpoken(t *testing.T) {
	b := &auditingBank{fakeBank{verify: katong.Errorf(katong.ENotFound, "no")}}
	cfg := ivr.Config{Support: "95566"}
	h := &harness{t: t, w: &banktest.World{}, now: time.Date(2026, 3, 2, 10, 30, 0, 0, katong.Shanghai)}
	h.line = ivr.New(cfg, b, func() time.Time { return h.now })
	h.dial()
	h.keys("1 6222021234567894# 123456#")
	h.wantSaid("系统繁忙，请稍后再试。")
}

func fakeCall(t *testing.T, f *fakeBank, edit func(*ivr.Config)) *harness {
	cfg := ivr.Config{Support: "95566", BankTimeout: 20 * time.Millisecond}
	if edit != nil {
		edit(&cfg)
	}
	h := &harness{t: t, w: &banktest.World{}, now: time.Date(2026, 3, 2, 10, 30, 0, 0, katong.Shanghai)}
	h.line = ivr.New(cfg, f, func() time.Time { return h.now })
	h.dial()
	h.keys("1 6222021234567894# 123456#")
	return h
}

func TestBankErrorsAreSpoken(t *testing.T) {
	for _, tc := range []struct {
		name string
		bank *fakeBank
		want string
	}{
		{"network", &fakeBank{verify: katong.Errorf(katong.ENetwork, "down")}, "网络异常，请稍后再试。"},
		{"slow bank", &fakeBank{block: true}, "网络异常，请稍后再试。"},
		{"internal", &fakeBank{verify: errors.New("disk on fire")}, "系统繁忙，请稍后再试。"},
		{"busy balance", &fakeBank{balance: errors.New("disk on fire")}, "系统繁忙，请稍后再试。"},
		{"closed", &fakeBank{balance: katong.Errorf(katong.EClosed, "closed")}, "账户异常，请联系银行客服，客服电话九五五六六。"},
		{"rate minutes", &fakeBank{balance: &katong.Error{Code: katong.ERateLimited, RetryAfter: 150 * time.Second}}, "查询过于频繁，请三分钟后再试。"},
		{"rate unknown", &fakeBank{balance: &katong.Error{Code: katong.ERateLimited}}, "查询过于频繁，请一秒后再试。"},
		{"invalid", &fakeBank{verify: katong.Invalid("pin", "bad")}, "对不起，您的输入有误。"},
		{"cross bank", &fakeBank{balance: katong.Errorf(katong.ECrossBank, "x")}, "该卡不是本行发行的卡"},
		{"locked", &fakeBank{verify: katong.Errorf(katong.ELocked, "x")}, "账户不存在"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fakeCall(t, tc.bank, nil)
			h.wantSaid(tc.want)
		})
	}
	h := fakeCall(t, &fakeBank{}, nil)
	h.wantSaid("您尾号零幺二八的卡，可用余额为一千元整，账面余额为二千五百元整。")
	h.keys("9")
	h.wantSaid("has an available balance of one thousand yuan and a ledger balance of two thousand five hundred yuan.")
}

func TestResultKeys(t *testing.T) {
	h := fakeCall(t, &fakeBank{}, nil)
	h.keys("1")
	h.wantSaid("请输入您的银行卡号")
	h.keys("6222021234567894# 123456#")
	h.keys("5")
	h.wantSaid("对不起，您的输入有误。")
	h.wantSaid("重听请按星号键")
	h.keys("~ ~ ~")
	h.wantSaid("再见")
	h.wantNext(ivr.Hangup)
}

func TestCallsEndInTime(t *testing.T) {
	// A caller pressing * for ever.
	h := fakeCall(t, &fakeBank{}, nil)
	n := 0
	for !h.call.Done() {
		h.keys("*")
		if n++; n > 100 {
			t.Fatal("call never ends")
		}
	}
	h.wantSaid("再见")
	// A call held too long ends at the next event.
	h = fakeCall(t, &fakeBank{}, nil)
	h.now = h.now.Add(16 * time.Minute)
	h.keys("*")
	h.wantSaid("再见")
	h.wantNext(ivr.Hangup)
}

func TestStateRoundTrip(t *testing.T) {
	h := newHarness(t, nil)
	h.keys("1" + h.w.Alice.PAN + "#")
	// Half a number typed, too.
	h.keys("110105")
	data, err := h.call.MarshalState(h.w.Bank.Vault)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{h.w.Alice.PAN, "1234567894", "110105", hex.EncodeToString([]byte("6222"))} {
		if strings.Contains(string(data), s) {
			t.Fatalf("state %s holds %q in the clear", data, s)
		}
	}
	c, err := h.line.Resume(data, h.w.Bank.Vault)
	if err != nil {
		t.Fatal(err)
	}
	h.call = c
	h.keys("19491231002*#")
	h.wantSaid("一千二百零五元零七分")
	// And after the answer, for *.
	data, _ = h.call.MarshalState(h.w.Bank.Vault)
	if h.call, err = h.line.Resume(data, h.w.Bank.Vault); err != nil {
		t.Fatal(err)
	}
	h.keys("*")
	h.wantSaid("一千二百零五元零七分")

	for _, bad := range []string{"", "{}", `{"v":1,"step":99,"lang":"zh"}`, `{"v":1,"step":3,"lang":"zh","card":"AAAA"}`} {
		if _, err := h.line.Resume([]byte(bad), h.w.Bank.Vault); err == nil {
			t.Errorf("Resume(%q) took a bad state", bad)
		}
	}
}

func TestDefaultConfig(t *testing.T) {
	c := ivr.DefaultConfig(banktest.Galaxy())
	if c.Support != "95500" || c.Auth != ivr.AuthEither || !c.Liang || c.MenuTimeout != 6*time.Second ||
		c.DigitTimeout != 8*time.Second || c.Retries != 3 || c.MaxFailures != 3 || len(c.BINs) != 2 {
		t.Fatalf("DefaultConfig = %+v", c)
	}
	if l := ivr.New(ivr.Config{}, &fakeBank{}, nil); l.Config().Auth != ivr.AuthEither || l.Config().BankTimeout != 5*time.Second {
		t.Fatalf("New did not fill defaults: %+v", l.Config())
	}
}

func TestClipsCoverEveryPrompt(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range ivr.Clips() {
		if seen[c.Name] {
			t.Fatalf("clip %s twice", c.Name)
		}
		seen[c.Name] = true
		if c.Text == "" || !strings.HasPrefix(c.Name, string(c.Lang)+"/") {
			t.Fatalf("clip %+v", c)
		}
	}
	for _, name := range []string{"zh/welcome", "en/welcome", "zh/yao", "zh/liang", "zh/zheng", "zh/yi", "en/seventy", "en/for_english", "zh/for_chinese"} {
		if !seen[name] {
			t.Errorf("no clip %s", name)
		}
	}
	if seen["zh/for_english"] || seen["en/for_chinese"] {
		t.Error("a prompt in the wrong language has a clip")
	}
}

func TestActionString(t *testing.T) {
	for _, tc := range []struct {
		a    ivr.Action
		want string
	}{
		{ivr.Action{Kind: ivr.Say, Lang: katong.ZH, Text: "您好"}, "say zh: 您好"},
		{ivr.Action{Kind: ivr.Collect, Timeout: 6 * time.Second}, "collect 1 (6s)"},
		{ivr.Action{Kind: ivr.Collect, Finish: '#', Timeout: 8 * time.Second}, "collect until # (8s)"},
		{ivr.Action{Kind: ivr.Hangup}, "hangup"},
		{ivr.Action{Kind: ivr.Transfer, Target: "95500"}, "transfer 95500"},
	} {
		if got := tc.a.String(); got != tc.want {
			t.Errorf("String() = %q; want %q", got, tc.want)
		}
	}
}

func TestEdgeBranches(t *testing.T) {
	ctx := context.Background()
	h := fakeCall(t, &fakeBank{}, func(c *ivr.Config) { c.NoEnglish = true })
	if acts := h.call.Start(); acts != nil {
		t.Fatalf("a second Start said %v", acts)
	}
	h.keys("9") // no English at the answer either
	h.wantSaid("对不起，您的输入有误。")
	h.keys("1 62D")
	h.wantSaid("对不起，您的输入有误。")
	// A time-out on a call held too long ends it too.
	h.now = h.now.Add(time.Hour)
	h.keys("~")
	h.wantSaid("再见")
	h.wantNext(ivr.Hangup)
	// Events before Start are ignored.
	c := ivr.New(ivr.Config{}, &fakeBank{}, nil).Call("", "")
	if c.Key(ctx, '1') != nil || c.Timeout() != nil || c.Done() {
		t.Fatal("a call not started took events")
	}
	if cfg := ivr.DefaultConfig(katong.Bank{ID: "lakeside", Name: "湖畔银行"}); cfg.Prompts["welcome"].EN != "Welcome to lakeside." {
		t.Fatalf("welcome %+v", cfg.Prompts["welcome"])
	}
	if got := (ivr.Action{}).String(); got != "?" {
		t.Fatalf("String() = %q", got)
	}
}
