package bankapp_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong"
)

type apiAccount struct {
	ID           string
	Name         string
	Status       string
	Currency     string
	Card         struct{ ID, Masked, Tail, Product string }
	Bank         struct{ ID, Name, NameEN, Colour string }
	Available    *string
	AvailableFen *int64 `json:"available_fen"`
	Booked       *string
	BookedFen    *int64     `json:"booked_fen"`
	AsOf         *time.Time `json:"as_of"`
	Holds        []struct {
		ID        string
		Amount    string
		AmountFen int64 `json:"amount_fen"`
		Memo      string
	}
	Error *struct {
		Code       string
		Support    string
		RetryAfter int `json:"retry_after"`
	}
}

type apiEntry struct {
	ID              string
	At              time.Time
	Kind            string
	KindText        string `json:"kind_text"`
	Memo            string
	Amount          string
	AmountFen       int64  `json:"amount_fen"`
	BalanceAfter    string `json:"balance_after"`
	BalanceAfterFen int64  `json:"balance_after_fen"`
}

type apiTransactions struct {
	AccountID  string     `json:"account_id"`
	Entries    []apiEntry `json:"entries"`
	NextCursor *string    `json:"next_cursor"`
}

func id(a katong.AccountID) string { return strconv.FormatInt(int64(a), 10) }

func TestAPILogin(t *testing.T) {
	e := newEnv(t)
	t.Run("OK", func(t *testing.T) {
		r := e.api("POST", "/sessions", "", map[string]string{"mobile": "138 0013 8000", "password": e.w.Alice.Password, "device": "d1"})
		if r.Status != http.StatusCreated {
			t.Fatalf("login: %s", r)
		}
		var s struct {
			Token     string
			TokenType string    `json:"token_type"`
			ExpiresAt time.Time `json:"expires_at"`
			Idle      int       `json:"idle_timeout"`
		}
		e.decode(r, &s)
		if len(s.Token) < 43 || s.TokenType != "Bearer" || s.Idle != 1800 {
			t.Errorf("session = %+v", s)
		}
		if want := e.clock.Now().Add(12 * time.Hour); s.ExpiresAt.Sub(want).Abs() > time.Second {
			t.Errorf("expires_at = %v; want %v", s.ExpiresAt, want)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
	})
	t.Run("WrongPasswordSameAsUnknownMobile", func(t *testing.T) {
		wrong := e.api("POST", "/sessions", "", map[string]string{"mobile": e.w.Alice.Mobile, "password": "not-the-password"})
		unknown := e.api("POST", "/sessions", "", map[string]string{"mobile": "13600136000", "password": e.w.Alice.Password})
		e.problem(wrong, http.StatusUnauthorized, katong.EUnauthorized)
		e.problem(unknown, http.StatusUnauthorized, katong.EUnauthorized)
		if withoutRequestID(wrong.Body) != withoutRequestID(unknown.Body) {
			t.Errorf("wrong password %s\nunknown mobile %s", wrong.Body, unknown.Body)
		}
	})
	t.Run("BadInput", func(t *testing.T) {
		for _, c := range []struct {
			name, body, field string
		}{
			{"MalformedMobile", `{"mobile":"12345","password":"x"}`, "mobile"},
			{"MissingMobile", `{"password":"x"}`, "mobile"},
			{"UnknownField", `{"mobile":"13800138000","password":"x","admin":true}`, "admin"},
			{"DuplicateKey", `{"mobile":"13800138000","mobile":"13900139000","password":"x"}`, "mobile"},
			{"Trailing", `{"mobile":"13800138000","password":"x"} {}`, "body"},
			{"Empty", ``, "body"},
			{"WrongType", `{"mobile":13800138000,"password":"x"}`, "mobile"},
		} {
			t.Run(c.name, func(t *testing.T) {
				p := e.problem(e.api("POST", "/sessions", "", c.body), http.StatusBadRequest, katong.EInvalid)
				if p.Field != c.field {
					t.Errorf("field = %q; want %q", p.Field, c.field)
				}
			})
		}
	})
	t.Run("LockOut", func(t *testing.T) {
		bob := map[string]string{"mobile": e.w.Bob.Mobile, "password": "wrong-password"}
		for i := 0; i < e.w.Bank.Auth.MaxFailures; i++ {
			e.problem(e.api("POST", "/sessions", "", bob), http.StatusUnauthorized, katong.EUnauthorized)
		}
		bob["password"] = e.w.Bob.Password
		r := e.api("POST", "/sessions", "", bob)
		p := e.problem(r, http.StatusTooManyRequests, katong.ELocked)
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || ra < 60 || ra != p.RetryAfter {
			t.Errorf("Retry-After = %q, retry_after = %d", r.Header.Get("Retry-After"), p.RetryAfter)
		}
	})
}

// S7: tokens end at log-out and at a new log-in that presents them, and
// after 30 idle minutes.
func TestAPISessionLifecycle(t *testing.T) {
	e := newEnv(t)
	t.Run("NoToken", func(t *testing.T) {
		r := e.api("GET", "/accounts", "", nil)
		e.problem(r, http.StatusUnauthorized, katong.EUnauthorized)
		if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("WWW-Authenticate = %q", r.Header.Get("WWW-Authenticate"))
		}
		e.problem(e.api("GET", "/accounts", "not-a-token", nil), http.StatusUnauthorized, katong.EUnauthorized)
	})
	t.Run("Logout", func(t *testing.T) {
		tok := e.login(e.w.Alice)
		if r := e.api("GET", "/accounts", tok, nil); r.Status != 200 {
			t.Fatalf("accounts: %s", r)
		}
		if r := e.api("DELETE", "/sessions/current", tok, nil); r.Status != http.StatusNoContent {
			t.Fatalf("logout: %s", r)
		}
		e.problem(e.api("GET", "/accounts", tok, nil), http.StatusUnauthorized, katong.EUnauthorized)
		e.problem(e.api("DELETE", "/sessions/current", tok, nil), http.StatusUnauthorized, katong.EUnauthorized)
	})
	t.Run("ReloginRotates", func(t *testing.T) {
		old := e.login(e.w.Alice)
		r := e.api("POST", "/sessions", old, map[string]string{"mobile": e.w.Alice.Mobile, "password": e.w.Alice.Password})
		if r.Status != http.StatusCreated {
			t.Fatalf("re-login: %s", r)
		}
		var s struct{ Token string }
		e.decode(r, &s)
		if s.Token == old {
			t.Fatal("re-login returned the same token")
		}
		e.problem(e.api("GET", "/accounts", old, nil), http.StatusUnauthorized, katong.EUnauthorized)
		if r := e.api("GET", "/accounts", s.Token, nil); r.Status != 200 {
			t.Fatalf("new token: %s", r)
		}
	})
	t.Run("IdleTimeout", func(t *testing.T) {
		tok := e.login(e.w.Alice)
		e.clock.Advance(29 * time.Minute)
		if r := e.api("GET", "/notices", tok, nil); r.Status != 200 {
			t.Fatalf("after 29 idle minutes: %s", r)
		}
		e.clock.Advance(29 * time.Minute) // 58 minutes since log-in, 29 idle
		if r := e.api("GET", "/notices", tok, nil); r.Status != 200 {
			t.Fatalf("after another 29 idle minutes: %s", r)
		}
		e.clock.Advance(31 * time.Minute)
		e.problem(e.api("GET", "/notices", tok, nil), http.StatusUnauthorized, katong.EUnauthorized)
	})
}

func TestAPIAccounts(t *testing.T) {
	e := newEnv(t)
	tok := e.login(e.w.Alice)
	t.Run("List", func(t *testing.T) {
		r := e.api("GET", "/accounts", tok, nil)
		if r.Status != 200 {
			t.Fatalf("accounts: %s", r)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
		var out struct{ Accounts []apiAccount }
		e.decode(r, &out)
		if len(out.Accounts) != 1 {
			t.Fatalf("accounts = %s", r.Body)
		}
		a := out.Accounts[0]
		if a.ID != id(e.w.Alice.Account) || a.Card.Masked != "6222 **** **** 7894" || a.Card.Tail != "7894" ||
			a.Card.Product != "储蓄卡" || a.Status != "active" || a.Currency != "CNY" || a.Bank.Name != "星河银行" {
			t.Errorf("account = %s", r.Body)
		}
		if a.Available == nil || *a.Available != "1205.07" || *a.AvailableFen != 120507 || *a.Booked != "1205.07" || *a.BookedFen != 120507 {
			t.Errorf("balance = %s", r.Body)
		}
		if a.AsOf == nil || !a.AsOf.Equal(e.clock.Now()) {
			t.Errorf("as_of = %v; want %v", a.AsOf, e.clock.Now())
		}
		if _, off := a.AsOf.Zone(); off != 8*3600 {
			t.Errorf("as_of offset = %d; want +08:00", off)
		}
	})
	t.Run("Detail", func(t *testing.T) {
		r := e.api("GET", "/accounts/"+id(e.w.Alice.Account), tok, nil)
		if r.Status != 200 {
			t.Fatalf("account: %s", r)
		}
		if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control = %q", cc)
		}
		var a apiAccount
		e.decode(r, &a)
		if a.Status != "active" || a.Available == nil || *a.Available != "1205.07" || a.AsOf == nil || !bytes.Contains(r.Body, []byte(`"holds":[]`)) {
			t.Errorf("account = %s", r.Body)
		}
		if !bytes.Contains(r.Body, []byte(`"available":"1205.07","available_fen":120507`)) {
			t.Errorf("amounts not as string and fen: %s", r.Body)
		}
	})
	t.Run("Audited", func(t *testing.T) {
		recs, err := e.w.Bank.Auth.AuditLog(e.ctx, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, rec := range recs {
			if rec.Action == "balance" && rec.Channel == katong.ChannelApp && rec.Card == "6222 **** **** 7894" && rec.Result == "ok" &&
				rec.Actor == "customer:"+strconv.FormatInt(int64(e.w.Alice.Customer.ID), 10) {
				n++
			}
		}
		if n != 2 {
			t.Errorf("%d audited app balance queries; want 2", n)
		}
	})
	t.Run("HoldsAndRecords", func(t *testing.T) {
		e.seed()
		tok := e.login(e.w.Alice) // the clock moved past the session's end
		want := e.balanceOf(e.w.Alice.Account)
		var a apiAccount
		e.decode(e.api("GET", "/accounts/"+id(e.w.Alice.Account), tok, nil), &a)
		if *a.AvailableFen != int64(want.Available) || *a.BookedFen != int64(want.Booked) || want.Booked-want.Available != 8800 {
			t.Errorf("available %d booked %d; want %d %d", *a.AvailableFen, *a.BookedFen, want.Available, want.Booked)
		}
		if len(a.Holds) != 1 || a.Holds[0].Amount != "88.00" || a.Holds[0].Memo != "酒店预授权" {
			t.Errorf("holds = %+v", a.Holds)
		}
	})
}

// Frozen accounts show no balance anywhere: ACCOUNT_ABNORMAL with the
// bank's support number, audited.
func TestAPIFrozen(t *testing.T) {
	e := newEnv(t)
	tok := e.login(e.w.Frozen)
	r := e.api("GET", "/accounts/"+id(e.w.Frozen.Account), tok, nil)
	p := e.problem(r, http.StatusForbidden, katong.EAbnormal)
	if p.Support != "95500" || bytes.Contains(r.Body, []byte("available")) {
		t.Errorf("problem = %s", r.Body)
	}
	r = e.api("GET", "/accounts", tok, nil)
	var out struct{ Accounts []apiAccount }
	e.decode(r, &out)
	if len(out.Accounts) != 1 || out.Accounts[0].Error == nil || out.Accounts[0].Error.Code != "ACCOUNT_ABNORMAL" ||
		out.Accounts[0].Error.Support != "95500" || out.Accounts[0].Available != nil || out.Accounts[0].Status != "frozen" {
		t.Errorf("list = %s", r.Body)
	}
	e.problem(e.api("GET", "/accounts/"+id(e.w.Frozen.Account)+"/transactions", tok, nil), http.StatusForbidden, katong.EAbnormal)
	e.problem(e.api("GET", "/accounts/"+id(e.w.Frozen.Account)+"/transactions.csv", tok, nil), http.StatusForbidden, katong.EAbnormal)
	recs, _ := e.w.Bank.Auth.AuditLog(e.ctx, 0, 50)
	n := 0
	for _, rec := range recs {
		if rec.Action == "balance" && rec.Result == "ACCOUNT_ABNORMAL" && rec.Card == e.w.Frozen.Card.Masked {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d audited abnormal queries; want 2", n)
	}
}

// getAllTransactions pages through an account's records.
func getAllTransactions(e *env, tok string, acct katong.AccountID, query string) []apiEntry {
	e.t.Helper()
	var all []apiEntry
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 100 {
			e.t.Fatal("paging does not end")
		}
		q := query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		r := e.api("GET", "/accounts/"+id(acct)+"/transactions?"+q, tok, nil)
		if r.Status != 200 {
			e.t.Fatalf("transactions: %s", r)
		}
		var tr apiTransactions
		e.decode(r, &tr)
		all = append(all, tr.Entries...)
		if tr.NextCursor == nil {
			return all
		}
		cursor = *tr.NextCursor
	}
}

func TestAPITransactions(t *testing.T) {
	e := newEnv(t)
	days := e.seed()
	tok := e.login(e.w.Alice)
	acct := e.w.Alice.Account
	t.Run("PagedWithRunningBalance", func(t *testing.T) {
		r := e.api("GET", "/accounts/"+id(acct)+"/transactions?limit=5", tok, nil)
		var first apiTransactions
		e.decode(r, &first)
		if len(first.Entries) != 5 || first.NextCursor == nil || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("first page: %s", r.Body)
		}
		all := getAllTransactions(e, tok, acct, "limit=5")
		if len(all) != 13 { // the opening deposit and twelve seeded records
			t.Fatalf("%d entries; want 13", len(all))
		}
		booked := e.balanceOf(acct).Booked
		if all[0].BalanceAfterFen != int64(booked) {
			t.Errorf("newest balance_after = %d; want booked %d", all[0].BalanceAfterFen, booked)
		}
		for i, en := range all {
			if en.Amount != katong.Amount(en.AmountFen).String() || en.BalanceAfter != katong.Amount(en.BalanceAfterFen).String() {
				t.Errorf("entry %d strings and fen differ: %+v", i, en)
			}
			if i+1 < len(all) {
				older := all[i+1]
				if en.BalanceAfterFen-en.AmountFen != older.BalanceAfterFen {
					t.Errorf("entry %d: %d - %d != previous balance %d", i, en.BalanceAfterFen, en.AmountFen, older.BalanceAfterFen)
				}
				if en.At.Before(older.At) {
					t.Errorf("entries not newest first at %d", i)
				}
			}
		}
		if all[len(all)-1].Kind != "deposit" || all[len(all)-1].KindText != "现金存入" {
			t.Errorf("oldest = %+v", all[len(all)-1])
		}
		var en apiTransactions
		e.decode(e.api("GET", "/accounts/"+id(acct)+"/transactions?limit=1&lang=en", tok, nil), &en)
		if en.Entries[0].KindText != "Cash withdrawal" {
			t.Errorf("kind_text in English = %q", en.Entries[0].KindText)
		}
	})
	t.Run("DateFilter", func(t *testing.T) {
		from, to := days[2].Format(time.DateOnly), days[4].Format(time.DateOnly)
		got := getAllTransactions(e, tok, acct, "limit=2&from="+from+"&to="+to)
		if len(got) != 3 {
			t.Fatalf("%d entries from %s to %s; want 3", len(got), from, to)
		}
		for _, en := range got {
			d := en.At.In(katong.Shanghai).Format(time.DateOnly)
			if d < from || d > to {
				t.Errorf("entry of %s outside %s..%s", d, from, to)
			}
		}
		got = getAllTransactions(e, tok, acct, "from="+days[11].Format(time.DateOnly))
		if len(got) != 1 {
			t.Errorf("%d entries from the last day; want 1", len(got))
		}
	})
	t.Run("BadQuery", func(t *testing.T) {
		for _, c := range []struct{ q, field string }{
			{"from=2026-13-01", "from"},
			{"to=yesterday", "to"},
			{"from=2026-05-02&to=2026-05-01", "to"},
			{"cursor=abc", "cursor"},
			{"cursor=-3", "cursor"},
			{"limit=0", "limit"},
			{"limit=101", "limit"},
		} {
			p := e.problem(e.api("GET", "/accounts/"+id(acct)+"/transactions?"+c.q, tok, nil), http.StatusBadRequest, katong.EInvalid)
			if p.Field != c.field {
				t.Errorf("%s: field = %q; want %q", c.q, p.Field, c.field)
			}
		}
	})
}

// readCSV checks the CSV headers and returns its rows without the BOM.
func readCSV(t *testing.T, r *response) [][]string {
	t.Helper()
	if r.Status != 200 {
		t.Fatalf("csv: %s", r)
	}
	if ct := r.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cd := r.Header.Get("Content-Disposition"); !strings.HasPrefix(cd, "attachment; filename=") || !strings.HasSuffix(cd, `.csv"`) {
		t.Errorf("Content-Disposition = %q", cd)
	}
	if cc := r.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	body, ok := bytes.CutPrefix(r.Body, []byte("\ufeff"))
	if !ok {
		t.Error("CSV has no byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatalf("csv: %v", err)
	}
	return rows
}

func TestAPITransactionsCSV(t *testing.T) {
	e := newEnv(t)
	days := e.seed()
	tok := e.login(e.w.Alice)
	acct := e.w.Alice.Account
	all := getAllTransactions(e, tok, acct, "limit=100")
	rows := readCSV(t, e.api("GET", "/accounts/"+id(acct)+"/transactions.csv", tok, nil))
	if want := []string{"交易时间", "交易类型", "摘要", "金额(元)", "余额(元)", "流水号"}; fmt.Sprint(rows[0]) != fmt.Sprint(want) {
		t.Errorf("header = %q; want %q", rows[0], want)
	}
	if len(rows) != len(all)+1 {
		t.Fatalf("%d rows; want %d", len(rows)-1, len(all))
	}
	// Oldest first: row i is entry len-i.
	for i, row := range rows[1:] {
		en := all[len(all)-1-i]
		want := []string{en.At.In(katong.Shanghai).Format(time.DateTime), en.KindText, en.Memo, en.Amount, en.BalanceAfter, en.ID}
		if fmt.Sprint(row) != fmt.Sprint(want) {
			t.Errorf("row %d = %q; want %q", i+1, row, want)
		}
	}
	last := rows[len(rows)-1]
	if last[4] != e.balanceOf(acct).Booked.String() {
		t.Errorf("last running balance %s; want booked %s", last[4], e.balanceOf(acct).Booked)
	}
	en := readCSV(t, e.api("GET", "/accounts/"+id(acct)+"/transactions.csv?lang=en&from="+days[3].Format(time.DateOnly)+"&to="+days[5].Format(time.DateOnly), tok, nil))
	if en[0][0] != "time" || len(en) != 4 {
		t.Errorf("filtered English CSV = %q", en)
	}
	e.problem(e.api("GET", "/accounts/"+id(acct)+"/transactions.csv?from=bad", tok, nil), http.StatusBadRequest, katong.EInvalid)
}

func TestAPIPassword(t *testing.T) {
	e := newEnv(t)
	tok := e.login(e.w.Alice)
	other := e.login(e.w.Alice)
	t.Run("WrongOld", func(t *testing.T) {
		p := e.problem(e.api("POST", "/password", tok, map[string]string{"old_password": "wrong-one", "new_password": "a-new-long-password"}),
			http.StatusBadRequest, katong.EInvalid)
		if p.Field != "old_password" {
			t.Errorf("field = %q", p.Field)
		}
	})
	t.Run("Weak", func(t *testing.T) {
		p := e.problem(e.api("POST", "/password", tok, map[string]string{"old_password": e.w.Alice.Password, "new_password": "short"}),
			http.StatusBadRequest, katong.EInvalid)
		if p.Field != "new_password" {
			t.Errorf("field = %q", p.Field)
		}
	})
	t.Run("UnknownField", func(t *testing.T) {
		e.problem(e.api("POST", "/password", tok, `{"old_password":"x","new_password":"y","role":"admin"}`), http.StatusBadRequest, katong.EInvalid)
	})
	t.Run("Changed", func(t *testing.T) {
		newPW := "a-new-long-password-2026"
		if r := e.api("POST", "/password", tok, map[string]string{"old_password": e.w.Alice.Password, "new_password": newPW}); r.Status != http.StatusNoContent {
			t.Fatalf("change: %s", r)
		}
		if r := e.api("GET", "/notices", tok, nil); r.Status != 200 {
			t.Errorf("the session that changed the password ended: %s", r)
		}
		e.problem(e.api("GET", "/notices", other, nil), http.StatusUnauthorized, katong.EUnauthorized)
		e.problem(e.api("POST", "/sessions", "", map[string]string{"mobile": e.w.Alice.Mobile, "password": e.w.Alice.Password}),
			http.StatusUnauthorized, katong.EUnauthorized)
		alice := e.w.Alice
		alice.Password = newPW
		e.login(alice)
	})
}

func TestAPINotices(t *testing.T) {
	e := newEnv(t)
	login := func(device string) string {
		r := e.api("POST", "/sessions", "", map[string]string{"mobile": e.w.Bob.Mobile, "password": e.w.Bob.Password, "device": device})
		var s struct{ Token string }
		e.decode(r, &s)
		return s.Token
	}
	login("phone-1")
	login("phone-1")
	tok := login("tablet-2")
	r := e.api("GET", "/notices", tok, nil)
	var out struct {
		Notices []struct{ ID, Title, Body string }
	}
	e.decode(r, &out)
	if len(out.Notices) != 2 {
		t.Fatalf("notices = %s; want two new-device notices", r.Body)
	}
	for _, n := range out.Notices {
		if !strings.Contains(n.Title, "新设备登录") || !strings.Contains(n.Body, "95500") {
			t.Errorf("notice = %+v", n)
		}
	}
}

// S8: Alice's token on Bob's account gets exactly the answer of an
// account that does not exist, on every account route and method.
func TestOwnershipMatrix(t *testing.T) {
	e := newEnv(t)
	alice := e.login(e.w.Alice)
	bob := e.login(e.w.Bob)
	routes := []string{"/accounts/%s", "/accounts/%s/transactions", "/accounts/%s/transactions.csv"}
	methods := []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"}
	bobs := id(e.w.Bob.Account)
	others := []string{"999999", "0", "abc", id(e.w.Frozen.Account), e.w.Bob.PAN, strconv.FormatInt(int64(e.w.Bob.Card.ID), 10)}
	for _, route := range routes {
		for _, m := range methods {
			t.Run(m+strings.ReplaceAll(route, "%s", "{id}"), func(t *testing.T) {
				var body any
				if m == "POST" || m == "PUT" || m == "PATCH" {
					body = `{}`
				}
				theirs := e.api(m, fmt.Sprintf(route, bobs), alice, body)
				if theirs.Status == 200 {
					t.Fatalf("Alice read Bob's account: %s", theirs)
				}
				if m == "GET" && theirs.Status != http.StatusNotFound {
					t.Fatalf("status = %d; want 404", theirs.Status)
				}
				for _, other := range others {
					if other == id(e.w.Alice.Account) {
						continue // a card id that happens to be Alice's account id
					}
					missing := e.api(m, fmt.Sprintf(route, other), alice, body)
					if missing.Status != theirs.Status || withoutRequestID(missing.Body) != withoutRequestID(theirs.Body) ||
						missing.Header.Get("Content-Type") != theirs.Header.Get("Content-Type") {
						t.Errorf("Bob's account: %s\nid %q: %s", theirs, katong.MaskCard(other), missing)
					}
				}
				// Positive control: Bob reads his own account.
				if m == "GET" {
					if own := e.api(m, fmt.Sprintf(route, bobs), bob, nil); own.Status != 200 {
						t.Errorf("Bob's own account: %s", own)
					}
				}
			})
		}
	}
	t.Run("Pages", func(t *testing.T) {
		c := e.pageLogin(e.w.Alice)
		for _, route := range []string{"/accounts/%s", "/accounts/%s/records", "/accounts/%s/records.csv"} {
			theirs := e.get(c, fmt.Sprintf(route, bobs))
			if theirs.Status != http.StatusNotFound {
				t.Fatalf("%s: status %d; want 404", route, theirs.Status)
			}
			for _, other := range []string{"999999", "abc", id(e.w.Frozen.Account)} {
				missing := e.get(c, fmt.Sprintf(route, other))
				if missing.Status != theirs.Status || !bytes.Equal(missing.Body, theirs.Body) {
					t.Errorf("%s: Bob's account and %q answer differently", route, other)
				}
			}
		}
	})
}

// S11: bodies over 16 KiB are refused with 413; the 31st balance query of
// a card in a minute is refused with 429 and Retry-After.
func TestLimits(t *testing.T) {
	e := newEnv(t)
	tok := e.login(e.w.Alice)
	big := bytes.Repeat([]byte("a"), 1<<20)
	t.Run("MiBBody", func(t *testing.T) {
		e.problem(e.api("POST", "/sessions", "", big), http.StatusRequestEntityTooLarge, katong.ETooLarge)
		e.problem(e.api("POST", "/password", tok, big), http.StatusRequestEntityTooLarge, katong.ETooLarge)
		body := `{"mobile":"` + strings.Repeat("1", 17<<10) + `","password":"x"}`
		e.problem(e.api("POST", "/sessions", "", body), http.StatusRequestEntityTooLarge, katong.ETooLarge)
		// Without a Content-Length (chunked): the limit holds while reading.
		e.problem(e.api("POST", "/sessions", "", io.MultiReader(strings.NewReader(body))), http.StatusRequestEntityTooLarge, katong.ETooLarge)
		r := e.do(e.client(), "POST", e.pageURL("/login"), "", big, "Content-Type", "application/x-www-form-urlencoded")
		if r.Status != http.StatusRequestEntityTooLarge {
			t.Errorf("page form of 1 MiB: status %d", r.Status)
		}
	})
	t.Run("RateLimit", func(t *testing.T) {
		path := "/accounts/" + id(e.w.Alice.Account)
		n := e.w.Bank.Config.Limits.App.N
		// The list above counted nothing yet: every query counts once.
		for i := 0; i < n; i++ {
			if r := e.api("GET", path, tok, nil); r.Status != 200 {
				t.Fatalf("query %d: %s", i+1, r)
			}
		}
		r := e.api("GET", path, tok, nil)
		p := e.problem(r, http.StatusTooManyRequests, katong.ERateLimited)
		ra, err := strconv.Atoi(r.Header.Get("Retry-After"))
		if err != nil || ra < 1 || ra > 60 || ra != p.RetryAfter {
			t.Errorf("Retry-After = %q, retry_after = %d", r.Header.Get("Retry-After"), p.RetryAfter)
		}
		var list struct{ Accounts []apiAccount }
		e.decode(e.api("GET", "/accounts", tok, nil), &list)
		if a := list.Accounts[0]; a.Error == nil || a.Error.Code != "RATE_LIMITED" || a.Error.RetryAfter < 1 || a.Available != nil {
			t.Errorf("list while limited = %+v", a)
		}
		// Other cards are not limited by Alice's queries.
		if r := e.api("GET", "/accounts/"+id(e.w.Bob.Account), e.login(e.w.Bob), nil); r.Status != 200 {
			t.Errorf("Bob limited by Alice's queries: %s", r)
		}
		e.clock.Advance(time.Duration(ra) * time.Second)
		if r := e.api("GET", path, tok, nil); r.Status != 200 {
			t.Errorf("after Retry-After: %s", r)
		}
	})
}

func TestAPIUnknownPathsAndMethods(t *testing.T) {
	e := newEnv(t)
	tok := e.login(e.w.Alice)
	e.problem(e.api("GET", "/nothing-here", tok, nil), http.StatusNotFound, katong.ENotFound)
	r := e.api("PUT", "/accounts", tok, `{}`)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "GET, HEAD" ||
		r.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("PUT /accounts: %d %v %s", r.Status, r.Header, r.Body)
	}
	var p struct{ Code, Field string }
	json.Unmarshal(r.Body, &p)
	if p.Code != "INVALID_INPUT" || p.Field != "method" {
		t.Errorf("405 problem = %s", r.Body)
	}
	r = e.api("GET", "/sessions", tok, nil)
	if r.Status != http.StatusMethodNotAllowed || r.Header.Get("Allow") != "POST" {
		t.Errorf("GET /sessions: %d %v", r.Status, r.Header.Get("Allow"))
	}
}
