package storetest

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
	"katong/testkit"
)

// Conformance checks the ledger's rules against one database that open
// returns; each subtest works on accounts of its own.
func Conformance(t *testing.T, open func(t testing.TB) *sqlstore.DB) {
	db := open(t)
	MustEnsureSystem(t, db)
	tests := []struct {
		name string
		fn   func(*fixture)
	}{
		{"Postings", testPostings},
		{"EntriesPaging", testEntriesPaging},
		{"EntriesDateRange", testEntriesDateRange},
		{"ErrInsufficient", testOverdraft},
		{"Frozen", testFrozen},
		{"Closed", testClosed},
		{"Holds", testHolds},
		{"Idempotency/Replay", testReplay},
		{"Idempotency/Concurrent", testConcurrentKey},
		{"Idempotency/TwoLedgers", testTwoLedgers},
		{"Idempotency/ErrKeyReused", testKeyReused},
		{"Idempotency/OtherClient", testOtherClient},
		{"ErrInvalid", testInvalid},
		{"ErrNotFound", testNotFound},
		{"Receipt", testReceipt},
		{"Uses", testUses},
		{"ReadsFollowWrites", testReadsFollowWrites},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fixture{t: t, db: db, ctx: context.Background(),
				clock:  testkit.NewClock(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)),
				client: "conf-" + t.Name()}
			f.l = NewLedger(t, db, f.clock.Now)
			tc.fn(f)
			CheckLedger(t, db)
		})
	}
}

type fixture struct {
	t      *testing.T
	db     *sqlstore.DB
	ctx    context.Context
	l      *ledger.Ledger
	clock  *testkit.Clock
	client string
	n      int
}

func (f *fixture) key() string {
	f.n++
	return fmt.Sprintf("k%d", f.n)
}

// req fills in the client and a fresh key.
func (f *fixture) req(r ledger.Request) ledger.Request {
	if r.Client == "" {
		r.Client = f.client
	}
	if r.Key == "" {
		r.Key = f.key()
	}
	return r
}

func (f *fixture) account(name string) katong.AccountID {
	f.t.Helper()
	return MustOpenAccount(f.t, f.db, name)
}

func (f *fixture) must(r ledger.Request) *ledger.Result {
	f.t.Helper()
	r = f.req(r)
	res, err := f.l.Do(f.ctx, r)
	if err != nil {
		f.t.Fatalf("Do(%s %d from %d to %d hold %d) = %v; want success", r.Kind, r.Amount, r.From, r.To, r.HoldID, err)
	}
	return res
}

// refused checks that r fails with code and changes nothing.
func (f *fixture) refused(code katong.Code, r ledger.Request) {
	f.t.Helper()
	before := f.snapshot()
	r = f.req(r)
	res, err := f.l.Do(f.ctx, r)
	if got := katong.ErrorCode(err); got != code {
		f.t.Errorf("Do(%s %d from %d to %d hold %d) = %+v, %v; want %s", r.Kind, r.Amount, r.From, r.To, r.HoldID, res, err, code)
	}
	if after := f.snapshot(); !reflect.DeepEqual(before, after) {
		f.t.Errorf("refused %s changed the database:\nbefore %+v\nafter  %+v", r.Kind, before, after)
	}
}

func (f *fixture) deposit(id katong.AccountID, amt katong.Amount) {
	f.t.Helper()
	f.must(ledger.Request{Kind: katong.TxnDeposit, To: id, Amount: amt})
}

func (f *fixture) get(id katong.AccountID) *katong.Account {
	f.t.Helper()
	a, err := f.db.Ledger().Account(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Account(%d): %v", id, err)
	}
	return a
}

// balance checks an account's booked and available balance.
func (f *fixture) balance(id katong.AccountID, booked, available katong.Amount) {
	f.t.Helper()
	b, err := f.l.Balance(f.ctx, id)
	if err != nil {
		f.t.Fatalf("Balance(%d): %v", id, err)
	}
	if b.Booked != booked || b.Available != available {
		f.t.Errorf("Balance(%d) = booked %d available %d; want booked %d available %d", id, b.Booked, b.Available, booked, available)
	}
}

func (f *fixture) system(kind katong.AccountKind) katong.AccountID {
	f.t.Helper()
	id, err := f.l.System(f.ctx, kind)
	if err != nil {
		f.t.Fatalf("System(%s): %v", kind, err)
	}
	return id
}

func (f *fixture) entries(id katong.AccountID, filter katong.EntryFilter) []katong.Entry {
	f.t.Helper()
	es, err := f.db.Ledger().Entries(f.ctx, id, filter)
	if err != nil {
		f.t.Fatalf("Entries(%d, %+v): %v", id, filter, err)
	}
	return es
}

// snapshot is the whole database state a refused request must not change.
type snapshot struct {
	Txns, Entries, Holds, Records int
	Accounts                      []katong.Account
	ActiveHolds                   map[katong.AccountID][]katong.Hold
}

func (f *fixture) snapshot() snapshot {
	f.t.Helper()
	var s snapshot
	for table, n := range map[string]*int{"txns": &s.Txns, "entries": &s.Entries, "holds": &s.Holds, "idempotency": &s.Records} {
		if err := f.db.QueryRowContext(f.ctx, `SELECT count(*) FROM `+table).Scan(n); err != nil {
			f.t.Fatal(err)
		}
	}
	accounts, err := f.db.Ledger().Accounts(f.ctx)
	if err != nil {
		f.t.Fatal(err)
	}
	s.ActiveHolds = map[katong.AccountID][]katong.Hold{}
	for _, a := range accounts {
		s.Accounts = append(s.Accounts, *a)
		hs, err := f.db.Ledger().Holds(f.ctx, a.ID)
		if err != nil {
			f.t.Fatal(err)
		}
		if len(hs) > 0 {
			s.ActiveHolds[a.ID] = hs
		}
	}
	return s
}

// posting is one entry of a transaction as stored.
type posting struct {
	Account katong.AccountID
	Amount  katong.Amount
}

func (f *fixture) postings(txn int64) []posting {
	f.t.Helper()
	rows, err := f.db.QueryContext(f.ctx, `SELECT account_id, amount FROM entries WHERE txn_id = $1 ORDER BY id`, txn)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rows.Close()
	var out []posting
	for rows.Next() {
		var p posting
		if err := rows.Scan(&p.Account, &p.Amount); err != nil {
			f.t.Fatal(err)
		}
		out = append(out, p)
	}
	return out
}

func testPostings(f *fixture) {
	a, b := f.account("alice"), f.account("bob")
	cash, settle, fees, clearing := f.system(katong.KindCash), f.system(katong.KindSettlement),
		f.system(katong.KindFees), f.system(katong.KindClearing)
	steps := []struct {
		req      ledger.Request
		postings []posting // debit first
		balances map[katong.AccountID]katong.Amount
	}{
		{ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 10000, Memo: "counter"},
			[]posting{{cash, -10000}, {a, 10000}}, map[katong.AccountID]katong.Amount{a: 10000}},
		{ledger.Request{Kind: katong.TxnSalary, To: a, Amount: 500000},
			[]posting{{clearing, -500000}, {a, 500000}}, map[katong.AccountID]katong.Amount{a: 510000}},
		{ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: 2000},
			[]posting{{a, -2000}, {cash, 2000}}, map[katong.AccountID]katong.Amount{a: 508000}},
		{ledger.Request{Kind: katong.TxnPayment, From: a, Amount: 3000},
			[]posting{{a, -3000}, {settle, 3000}}, map[katong.AccountID]katong.Amount{a: 505000}},
		{ledger.Request{Kind: katong.TxnRefund, To: a, Amount: 1000},
			[]posting{{settle, -1000}, {a, 1000}}, map[katong.AccountID]katong.Amount{a: 506000}},
		{ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 6000, Memo: "rent"},
			[]posting{{a, -6000}, {b, 6000}}, map[katong.AccountID]katong.Amount{a: 500000, b: 6000}},
		{ledger.Request{Kind: katong.TxnFee, From: b, Amount: 50},
			[]posting{{b, -50}, {fees, 50}}, map[katong.AccountID]katong.Amount{b: 5950}},
	}
	var txns []int64
	for _, s := range steps {
		f.clock.Advance(time.Minute)
		res := f.must(s.req)
		if res.TxnID <= 0 || res.Kind != s.req.Kind || res.Amount != s.req.Amount || res.Replayed || !res.At.Equal(f.clock.Now()) {
			f.t.Errorf("%s: result %+v; want a new txn of %d at %v", s.req.Kind, res, s.req.Amount, f.clock.Now())
		}
		if !reflect.DeepEqual(res.Balances, s.balances) {
			f.t.Errorf("%s: result balances %v; want %v", s.req.Kind, res.Balances, s.balances)
		}
		if got := f.postings(res.TxnID); !reflect.DeepEqual(got, s.postings) {
			f.t.Errorf("%s: postings %v; want %v", s.req.Kind, got, s.postings)
		}
		txns = append(txns, res.TxnID)
	}
	f.balance(a, 500000, 500000)
	f.balance(b, 5950, 5950)

	// Alice's history, newest first, with running balances.
	want := []struct {
		kind   katong.TxnKind
		amount katong.Amount
		after  katong.Amount
		memo   string
	}{
		{katong.TxnTransfer, -6000, 500000, "rent"},
		{katong.TxnRefund, 1000, 506000, ""},
		{katong.TxnPayment, -3000, 505000, ""},
		{katong.TxnWithdrawal, -2000, 508000, ""},
		{katong.TxnSalary, 500000, 510000, ""},
		{katong.TxnDeposit, 10000, 10000, "counter"},
	}
	es := f.entries(a, katong.EntryFilter{})
	if len(es) != len(want) {
		f.t.Fatalf("Entries(alice) has %d entries; want %d", len(es), len(want))
	}
	for i, e := range es {
		w := want[i]
		if e.Kind != w.kind || e.Amount != w.amount || e.BalanceAfter != w.after || e.Memo != w.memo || e.AccountID != a {
			f.t.Errorf("Entries(alice)[%d] = %s %d after %d memo %q; want %s %d after %d memo %q",
				i, e.Kind, e.Amount, e.BalanceAfter, e.Memo, w.kind, w.amount, w.after, w.memo)
		}
		if i > 0 && e.ID >= es[i-1].ID {
			f.t.Errorf("Entries(alice) not newest first: id %d after %d", e.ID, es[i-1].ID)
		}
		if e.At.Location() != time.UTC || e.At.After(f.clock.Now()) {
			f.t.Errorf("Entries(alice)[%d].At = %v", i, e.At)
		}
	}
	if es[0].TxnID != txns[5] || es[len(es)-1].TxnID != txns[0] {
		f.t.Errorf("Entries(alice) txn ids %d..%d; want %d..%d", es[0].TxnID, es[len(es)-1].TxnID, txns[5], txns[0])
	}
}

func testEntriesPaging(f *fixture) {
	a := f.account("pager")
	for i := 1; i <= 7; i++ {
		f.deposit(a, katong.Amount(i))
	}
	all := f.entries(a, katong.EntryFilter{})
	if len(all) != 7 {
		f.t.Fatalf("Entries = %d entries; want 7", len(all))
	}
	var paged []katong.Entry
	var sizes []int
	before := int64(0)
	for range 10 {
		page := f.entries(a, katong.EntryFilter{Before: before, Limit: 3})
		if len(page) == 0 {
			break
		}
		sizes = append(sizes, len(page))
		paged = append(paged, page...)
		before = page[len(page)-1].ID
	}
	if !reflect.DeepEqual(sizes, []int{3, 3, 1}) || !reflect.DeepEqual(paged, all) {
		f.t.Errorf("pages of 3 have sizes %v and %d entries; want [3 3 1] equal to the unpaged 7", sizes, len(paged))
	}
	for i, e := range all {
		if want := katong.Amount(7 - i); e.Amount != want {
			f.t.Errorf("entry %d amount %d; want %d (newest first)", i, e.Amount, want)
		}
	}
}

func testEntriesDateRange(f *fixture) {
	a := f.account("dates")
	day := func(d int) time.Time { return time.Date(2025, 3, d, 0, 0, 0, 0, time.UTC) }
	// Two deposits on each of 1, 2 and 3 March: at midnight and at noon.
	for d := 1; d <= 3; d++ {
		f.clock.Set(day(d))
		f.deposit(a, katong.Amount(100*d))
		f.clock.Set(day(d).Add(12 * time.Hour))
		f.deposit(a, katong.Amount(100*d+1))
	}
	amounts := func(from, to *time.Time) []katong.Amount {
		var out []katong.Amount
		for _, e := range f.entries(a, katong.EntryFilter{From: from, To: to}) {
			out = append(out, e.Amount)
		}
		return out
	}
	d2, d3 := day(2), day(3)
	if got, want := amounts(&d2, &d3), []katong.Amount{201, 200}; !reflect.DeepEqual(got, want) {
		f.t.Errorf("entries in [2 Mar, 3 Mar) = %v; want %v (From inclusive, To exclusive)", got, want)
	}
	if got, want := amounts(&d3, nil), []katong.Amount{301, 300}; !reflect.DeepEqual(got, want) {
		f.t.Errorf("entries from 3 Mar = %v; want %v", got, want)
	}
	if got, want := amounts(nil, &d2), []katong.Amount{101, 100}; !reflect.DeepEqual(got, want) {
		f.t.Errorf("entries before 2 Mar = %v; want %v", got, want)
	}
	// The same range in Shanghai time: 2 Mar 08:00 CST is 2 Mar 00:00 UTC.
	s2, s3 := d2.In(katong.Shanghai), d3.In(katong.Shanghai)
	if got, want := amounts(&s2, &s3), []katong.Amount{201, 200}; !reflect.DeepEqual(got, want) {
		f.t.Errorf("entries in the same range given in Asia/Shanghai = %v; want %v", got, want)
	}
	for _, e := range f.entries(a, katong.EntryFilter{From: &d2, To: &d3}) {
		if e.At.Before(d2) || !e.At.Before(d3) {
			f.t.Errorf("entry at %v outside [%v, %v)", e.At, d2, d3)
		}
	}
}

func testOverdraft(f *fixture) {
	a, b := f.account("spender"), f.account("payee")
	f.deposit(a, 1000)
	for _, r := range []ledger.Request{
		{Kind: katong.TxnWithdrawal, From: a, Amount: 1001},
		{Kind: katong.TxnPayment, From: a, Amount: 1001},
		{Kind: katong.TxnFee, From: a, Amount: 1001},
		{Kind: katong.TxnTransfer, From: a, To: b, Amount: 1001},
		{Kind: katong.TxnHold, From: a, Amount: 1001},
		{Kind: katong.TxnWithdrawal, From: b, Amount: 1},
	} {
		f.refused(katong.EInsufficient, r)
	}
	// Exactly the balance may be spent, down to zero and no further.
	f.must(ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 1000})
	f.balance(a, 0, 0)
	f.balance(b, 1000, 1000)
	f.refused(katong.EInsufficient, ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: 1})
}

func testFrozen(f *fixture) {
	a, b := f.account("frozen"), f.account("other")
	f.deposit(a, 5000)
	f.deposit(b, 5000)
	hold := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 100})
	hold2 := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 200})
	if err := f.db.Ledger().SetStatus(f.ctx, a, katong.StatusFrozen, "court order"); err != nil {
		f.t.Fatal(err)
	}
	if got := f.get(a); got.Status != katong.StatusFrozen || got.FreezeReason != "court order" {
		f.t.Errorf("after SetStatus(frozen) account is %s %q", got.Status, got.FreezeReason)
	}
	for _, r := range []ledger.Request{
		{Kind: katong.TxnWithdrawal, From: a, Amount: 1},
		{Kind: katong.TxnPayment, From: a, Amount: 1},
		{Kind: katong.TxnFee, From: a, Amount: 1},
		{Kind: katong.TxnTransfer, From: a, To: b, Amount: 1},
		{Kind: katong.TxnHold, From: a, Amount: 1},
		{Kind: katong.TxnCapture, HoldID: hold.HoldID},
	} {
		f.refused(katong.EAbnormal, r)
	}
	// Credits are still accepted, and a hold may be released.
	f.must(ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 10})
	f.must(ledger.Request{Kind: katong.TxnRefund, To: a, Amount: 20})
	f.must(ledger.Request{Kind: katong.TxnSalary, To: a, Amount: 30})
	f.must(ledger.Request{Kind: katong.TxnTransfer, From: b, To: a, Amount: 40})
	f.must(ledger.Request{Kind: katong.TxnRelease, HoldID: hold2.HoldID})
	f.balance(a, 5100, 5000)
	if err := f.db.Ledger().SetStatus(f.ctx, a, katong.StatusActive, ""); err != nil {
		f.t.Fatal(err)
	}
	f.must(ledger.Request{Kind: katong.TxnCapture, HoldID: hold.HoldID})
	f.must(ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: 1})
	f.balance(a, 4999, 4999)
}

func testClosed(f *fixture) {
	a, b := f.account("closed"), f.account("other")
	f.deposit(a, 5000)
	f.deposit(b, 5000)
	hold := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 100})
	if err := f.db.Ledger().SetStatus(f.ctx, a, katong.StatusClosed, "customer request"); err != nil {
		f.t.Fatal(err)
	}
	for _, r := range []ledger.Request{
		{Kind: katong.TxnDeposit, To: a, Amount: 1},
		{Kind: katong.TxnRefund, To: a, Amount: 1},
		{Kind: katong.TxnSalary, To: a, Amount: 1},
		{Kind: katong.TxnWithdrawal, From: a, Amount: 1},
		{Kind: katong.TxnPayment, From: a, Amount: 1},
		{Kind: katong.TxnFee, From: a, Amount: 1},
		{Kind: katong.TxnTransfer, From: a, To: b, Amount: 1},
		{Kind: katong.TxnTransfer, From: b, To: a, Amount: 1},
		{Kind: katong.TxnHold, From: a, Amount: 1},
		{Kind: katong.TxnCapture, HoldID: hold.HoldID},
		{Kind: katong.TxnRelease, HoldID: hold.HoldID},
	} {
		f.refused(katong.EClosed, r)
	}
	f.balance(a, 5000, 4900)
	f.balance(b, 5000, 5000)
}

func testHolds(f *fixture) {
	a := f.account("holder")
	settle := f.system(katong.KindSettlement)
	f.deposit(a, 1000)
	settled := f.get(settle).Booked

	h := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 300, Memo: "hotel"})
	if h.HoldID <= 0 || h.TxnID != 0 || h.Amount != 300 || h.Balances[a] != 1000 {
		f.t.Errorf("hold result %+v; want a hold id, no txn, amount 300, booked 1000", h)
	}
	f.balance(a, 1000, 700) // authorised: available lower, booked not
	hs, err := f.db.Ledger().Holds(f.ctx, a)
	if err != nil || len(hs) != 1 || hs[0].ID != h.HoldID || hs[0].Amount != 300 || hs[0].Status != katong.HoldActive || hs[0].Memo != "hotel" {
		f.t.Errorf("Holds = %+v, %v; want the one active hold of 300", hs, err)
	}
	if es := f.entries(a, katong.EntryFilter{}); len(es) != 1 {
		f.t.Errorf("a hold posted %d entries; want none", len(es)-1)
	}
	f.refused(katong.EInsufficient, ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: 701})
	f.refused(katong.EInsufficient, ledger.Request{Kind: katong.TxnHold, From: a, Amount: 701})

	c := f.must(ledger.Request{Kind: katong.TxnCapture, HoldID: h.HoldID})
	if c.TxnID <= 0 || c.HoldID != h.HoldID || c.Amount != 300 || c.Balances[a] != 700 {
		f.t.Errorf("capture result %+v; want a txn of 300 on hold %d, booked 700", c, h.HoldID)
	}
	if got := f.postings(c.TxnID); !reflect.DeepEqual(got, []posting{{a, -300}, {settle, 300}}) {
		f.t.Errorf("capture postings %v; want 300 from the account to settlement", got)
	}
	f.balance(a, 700, 700) // captured: booked
	if got := f.get(settle).Booked; got != settled+300 {
		f.t.Errorf("settlement booked %d; want %d", got, settled+300)
	}
	if es := f.entries(a, katong.EntryFilter{Limit: 1}); len(es) != 1 || es[0].Kind != katong.TxnCapture || es[0].Amount != -300 {
		f.t.Errorf("newest entry %+v; want the capture of -300", es)
	}

	r := f.must(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 200})
	f.balance(a, 700, 500)
	rel := f.must(ledger.Request{Kind: katong.TxnRelease, HoldID: r.HoldID})
	if rel.TxnID != 0 || rel.HoldID != r.HoldID || rel.Amount != 200 {
		f.t.Errorf("release result %+v; want hold %d of 200 and no txn", rel, r.HoldID)
	}
	f.balance(a, 700, 700) // released: restored
	if hs, _ := f.db.Ledger().Holds(f.ctx, a); len(hs) != 0 {
		f.t.Errorf("Holds after capture and release = %+v; want none active", hs)
	}

	f.refused(katong.EConflict, ledger.Request{Kind: katong.TxnCapture, HoldID: r.HoldID}) // released
	f.refused(katong.EConflict, ledger.Request{Kind: katong.TxnRelease, HoldID: r.HoldID})
	f.refused(katong.EConflict, ledger.Request{Kind: katong.TxnCapture, HoldID: h.HoldID}) // captured
	f.refused(katong.EConflict, ledger.Request{Kind: katong.TxnRelease, HoldID: h.HoldID})
	f.refused(katong.ENotFound, ledger.Request{Kind: katong.TxnCapture, HoldID: 1 << 40})
}

// countKey counts the transactions and idempotency records of a key.
func (f *fixture) countKey(client, key string) (txns, records int) {
	f.t.Helper()
	if err := f.db.QueryRowContext(f.ctx, `SELECT count(*) FROM txns WHERE client = $1 AND idem_key = $2`, client, key).Scan(&txns); err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.QueryRowContext(f.ctx, `SELECT count(*) FROM idempotency WHERE client = $1 AND idem_key = $2`, client, key).Scan(&records); err != nil {
		f.t.Fatal(err)
	}
	return txns, records
}

// T3 (a): the same key twice in sequence replays the first result.
func testReplay(f *fixture) {
	a, b := f.account("payer"), f.account("payee")
	f.deposit(a, 10000)
	r := f.req(ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 2500, Memo: "dinner"})
	first := f.must(r)
	f.clock.Advance(time.Hour)
	second := f.must(r)
	if first.Replayed || !second.Replayed {
		f.t.Errorf("Replayed = %v then %v; want false then true", first.Replayed, second.Replayed)
	}
	second.Replayed = false
	if second.TxnID != first.TxnID || !second.At.Equal(first.At) || !reflect.DeepEqual(second.Balances, first.Balances) || second.Amount != first.Amount {
		f.t.Errorf("replay = %+v; want the first result %+v", second, first)
	}
	if txns, records := f.countKey(r.Client, r.Key); txns != 1 || records != 1 {
		f.t.Errorf("key used twice: %d txns and %d records; want 1 and 1", txns, records)
	}
	f.balance(a, 7500, 7500)
	f.balance(b, 2500, 2500)

	// A hold replays too, without a second hold.
	h := f.req(ledger.Request{Kind: katong.TxnHold, From: a, Amount: 100})
	h1, h2 := f.must(h), f.must(h)
	if !h2.Replayed || h2.HoldID != h1.HoldID {
		f.t.Errorf("replayed hold = %+v; want hold %d replayed", h2, h1.HoldID)
	}
	f.balance(a, 7500, 7400)
}

// T3 (b): the same key from 16 goroutines at once is applied once.
func testConcurrentKey(f *fixture) {
	a, b := f.account("payer"), f.account("payee")
	f.deposit(a, 10000)
	r := f.req(ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 100})
	f.race(r, []*ledger.Ledger{f.l})
	f.balance(a, 9900, 9900)
	f.balance(b, 100, 100)
}

// The same key sent at once through two ledgers on the same database, as
// two processes of the service would.
func testTwoLedgers(f *fixture) {
	a, b := f.account("payer"), f.account("payee")
	f.deposit(a, 10000)
	other := NewLedger(f.t, f.db, f.clock.Now)
	for i := range 5 {
		r := f.req(ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 100})
		f.race(r, []*ledger.Ledger{f.l, other})
		f.balance(a, 9900-katong.Amount(i)*100, 9900-katong.Amount(i)*100)
	}
}

func (f *fixture) race(r ledger.Request, ls []*ledger.Ledger) {
	f.t.Helper()
	const n = 16
	type outcome struct {
		res *ledger.Result
		err error
	}
	out := make([]outcome, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			res, err := ls[i%len(ls)].Do(f.ctx, r)
			out[i] = outcome{res, err}
		}()
	}
	close(start)
	wg.Wait()
	var applied, replayed, conflict int
	var txn int64
	for _, o := range out {
		switch {
		case o.err == nil && !o.res.Replayed:
			applied++
			txn = o.res.TxnID
		case o.err == nil:
			replayed++
		case katong.ErrorCode(o.err) == katong.EConflict:
			conflict++
		default:
			f.t.Errorf("concurrent Do with one key: %v", o.err)
		}
	}
	if applied != 1 {
		f.t.Errorf("%d goroutines with one key: %d applied, %d replayed, %d conflicts; want exactly 1 applied", n, applied, replayed, conflict)
	}
	for _, o := range out {
		if o.err == nil && o.res.Replayed && o.res.TxnID != txn {
			f.t.Errorf("replay has txn %d; want %d", o.res.TxnID, txn)
		}
	}
	if txns, records := f.countKey(r.Client, r.Key); txns != 1 || records != 1 {
		f.t.Errorf("one key from %d goroutines: %d txns and %d records; want 1 and 1", n, txns, records)
	}
	f.t.Logf("%d goroutines with one key: %d applied, %d replayed, %d conflicts", n, applied, replayed, conflict)
}

// T3 (c): the same key with another request is refused and changes nothing.
func testKeyReused(f *fixture) {
	a, b, c := f.account("payer"), f.account("payee"), f.account("third")
	f.deposit(a, 10000)
	r := f.req(ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 100})
	first := f.must(r)
	for _, change := range []func(*ledger.Request){
		func(r *ledger.Request) { r.Amount = 101 },
		func(r *ledger.Request) { r.To = c },
		func(r *ledger.Request) { r.Kind = katong.TxnPayment; r.To = 0 },
		func(r *ledger.Request) { r.Memo = "changed" },
	} {
		x := r
		change(&x)
		f.refused(katong.EKeyReused, x)
	}
	if again := f.must(r); !again.Replayed || again.TxnID != first.TxnID {
		f.t.Errorf("the original request after mismatches = %+v; want the replay of txn %d", again, first.TxnID)
	}
	f.balance(a, 9900, 9900)
}

// T3 (d): another client's use of the same key is its own request.
func testOtherClient(f *fixture) {
	a, b := f.account("alice"), f.account("bob")
	f.deposit(a, 10000)
	ra := f.req(ledger.Request{Client: f.client + "/A", Kind: katong.TxnDeposit, To: a, Amount: 500})
	resA := f.must(ra)

	rb := ra
	rb.Client, rb.To, rb.Amount = f.client+"/B", b, 700
	resB := f.must(rb)
	if resB.Replayed || resB.TxnID == resA.TxnID || resB.Amount != 700 || !reflect.DeepEqual(resB.Balances, map[katong.AccountID]katong.Amount{b: 700}) {
		f.t.Errorf("client B with A's key got %+v; want its own deposit of 700 to %d, not A's %+v", resB, b, resA)
	}
	// Even the identical body from B is B's own request, not A's replay.
	same := ra
	same.Client = f.client + "/B2"
	resSame := f.must(same)
	if resSame.Replayed || resSame.TxnID == resA.TxnID {
		f.t.Errorf("client B2 with A's key and body got %+v; want a fresh result", resSame)
	}
	f.balance(a, 11000, 11000)
	f.balance(b, 700, 700)
	if txns, _ := f.countKey(ra.Client, ra.Key); txns != 1 {
		f.t.Errorf("client A's key has %d txns; want 1", txns)
	}
}

func testInvalid(f *fixture) {
	a, b := f.account("a"), f.account("b")
	f.deposit(a, 1000)
	tests := []struct {
		field string
		req   ledger.Request
	}{
		{"amount", ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 0}},
		{"amount", ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: -100}},
		{"amount", ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: -1}},
		{"amount", ledger.Request{Kind: katong.TxnTransfer, From: a, To: b, Amount: 0}},
		{"amount", ledger.Request{Kind: katong.TxnHold, From: a, Amount: -5}},
		{"amount", ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: ledger.MaxAmount + 1}},
		{"kind", ledger.Request{Kind: "steal", From: a, To: b, Amount: 100}},
		{"kind", ledger.Request{Kind: "", To: a, Amount: 100}},
		{"idempotency_key", ledger.Request{Key: "", Kind: katong.TxnDeposit, To: a, Amount: 100}},
		{"idempotency_key", ledger.Request{Key: string(make([]byte, 129)), Kind: katong.TxnDeposit, To: a, Amount: 100}},
		{"client", ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 100}},
		{"memo", ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 100, Memo: string(make([]byte, 141))}},
		{"hold_id", ledger.Request{Kind: katong.TxnCapture}},
		{"hold_id", ledger.Request{Kind: katong.TxnRelease, HoldID: -1}},
		{"to", ledger.Request{Kind: katong.TxnTransfer, From: a, To: a, Amount: 100}},
	}
	for _, tc := range tests {
		r := tc.req
		if r.Key == "" && tc.field != "idempotency_key" {
			r.Key = f.key()
		}
		if tc.field == "client" {
			r.Client = ""
		} else {
			r.Client = f.client
		}
		before := f.snapshot()
		res, err := f.l.Do(f.ctx, r)
		if e := katong.AsError(err); err == nil || e.Code != katong.EInvalid || e.Field != tc.field {
			f.t.Errorf("Do(%s %d field %s) = %+v, %v; want %s on %q", r.Kind, r.Amount, tc.field, res, err, katong.EInvalid, tc.field)
		}
		if after := f.snapshot(); !reflect.DeepEqual(before, after) {
			f.t.Errorf("invalid %s request changed the database", tc.field)
		}
	}
	f.balance(a, 1000, 1000)
}

func testNotFound(f *fixture) {
	a := f.account("a")
	f.deposit(a, 1000)
	const nobody = katong.AccountID(1 << 40)
	cash := f.system(katong.KindCash)
	for _, r := range []ledger.Request{
		{Kind: katong.TxnDeposit, To: nobody, Amount: 1},
		{Kind: katong.TxnWithdrawal, From: nobody, Amount: 1},
		{Kind: katong.TxnTransfer, From: a, To: nobody, Amount: 1},
		{Kind: katong.TxnTransfer, From: nobody, To: a, Amount: 1},
		{Kind: katong.TxnHold, From: nobody, Amount: 1},
		// The bank's own accounts are not customer accounts.
		{Kind: katong.TxnTransfer, From: a, To: cash, Amount: 1},
		{Kind: katong.TxnTransfer, From: cash, To: a, Amount: 1},
		{Kind: katong.TxnWithdrawal, From: cash, Amount: 1},
	} {
		f.refused(katong.ENotFound, r)
	}
	if _, err := f.l.Balance(f.ctx, nobody); katong.ErrorCode(err) != katong.ENotFound {
		f.t.Errorf("Balance(unknown) = %v; want %s", err, katong.ENotFound)
	}
	if err := f.db.Ledger().SetStatus(f.ctx, nobody, katong.StatusFrozen, ""); katong.ErrorCode(err) != katong.ENotFound {
		f.t.Errorf("SetStatus(unknown) = %v; want %s", err, katong.ENotFound)
	}
	if err := f.db.Ledger().SetStatus(f.ctx, cash, katong.StatusFrozen, ""); katong.ErrorCode(err) != katong.ENotFound {
		f.t.Errorf("SetStatus(cash account) = %v; want %s", err, katong.ENotFound)
	}
}

func testReceipt(f *fixture) {
	a := f.account("a")
	r := f.req(ledger.Request{Kind: katong.TxnDeposit, To: a, Amount: 1234, Memo: "receipt"})
	res := f.must(r)
	rec, err := f.db.Ledger().Receipt(f.ctx, r.Client, r.Key)
	if err != nil || rec == nil {
		f.t.Fatalf("Receipt(%s, %s) = %v, %v; want the record", r.Client, r.Key, rec, err)
	}
	if rec.Fingerprint != r.Fingerprint() || rec.Result.TxnID != res.TxnID || rec.Result.Amount != 1234 ||
		!rec.Result.At.Equal(res.At) || !reflect.DeepEqual(rec.Result.Balances, res.Balances) || rec.Result.Replayed {
		f.t.Errorf("Receipt = %+v; want fingerprint %s and result %+v", rec, r.Fingerprint(), res)
	}
	for _, k := range [][2]string{{r.Client, "never-used"}, {r.Client + "/other", r.Key}} {
		if rec, err := f.db.Ledger().Receipt(f.ctx, k[0], k[1]); rec != nil || err != nil {
			f.t.Errorf("Receipt(%s, %s) = %+v, %v; want nil, nil", k[0], k[1], rec, err)
		}
	}
	// A refused request leaves no record behind.
	bad := f.req(ledger.Request{Kind: katong.TxnWithdrawal, From: a, Amount: 999999})
	f.refused(katong.EInsufficient, bad)
	if rec, err := f.db.Ledger().Receipt(f.ctx, bad.Client, bad.Key); rec != nil || err != nil {
		f.t.Errorf("Receipt of a refused request = %+v, %v; want nil, nil", rec, err)
	}
}
