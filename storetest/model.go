package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong"
	"katong/ledger"
	"katong/sqlstore"
	"katong/testkit"
)

// Model runs T8, a scaled-down VOPR: for each seed, a random sequence of
// transfers, deposits, withdrawals, payments, refunds, fees, salaries,
// holds, captures, releases, freezes, unfreezes, closures, queries,
// retries with the same key, key reuse, invalid requests and crashes (the
// ledger stopped and the database reopened with o.Reopen) runs against
// the real ledger and against an in-memory model of the ledger's rules.
// Every result code, result, balance, hold and entry must agree.
//
// It runs KATONG_T8_SEEDS seeds (20 by default, 5 on PostgreSQL, a
// quarter of that under the race detector) of
// KATONG_T8_OPS operations (1000 by default); the seeds are new on every
// run and logged. A failure prints the command that replays its seed
// (KATONG_T8_SEED=N ... -run '.../seed=N'); the sequence of operations
// depends on nothing but the seed.
func Model(t *testing.T, o Opener) {
	ops := envInt(t, "KATONG_T8_OPS", 1000)
	first := o.Open(t)
	var seeds []uint64
	if s := os.Getenv("KATONG_T8_SEED"); s != "" {
		for _, f := range strings.Split(s, ",") {
			n, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
			if err != nil {
				t.Fatalf("KATONG_T8_SEED=%q: want seeds separated by commas", s)
			}
			seeds = append(seeds, n)
		}
	} else {
		def := 20
		if first.Dialect.Name == "postgres" {
			def = 5
		}
		if raceEnabled {
			def /= 4
		}
		n := envInt(t, "KATONG_T8_SEEDS", def)
		base := uint64(time.Now().UnixNano()) % 1_000_000_000
		for i := range n {
			seeds = append(seeds, base+uint64(i))
		}
	}
	t.Logf("T8: %d seeds from %d, %d ops each (KATONG_T8_SEEDS, KATONG_T8_OPS; KATONG_T8_SEED replays)", len(seeds), seeds[0], ops)
	for i, seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			db := first
			if i > 0 {
				db = o.Open(t)
			}
			newSim(t, o, db, seed, ops).run()
		})
	}
}

// A sim drives one seed: the real ledger, the model and the generator.
type sim struct {
	t     *testing.T
	o     Opener
	db    *sqlstore.DB
	l     *ledger.Ledger
	ctx   context.Context
	clock *testkit.Clock
	rng   *rand.Rand
	seed  uint64
	ops   int

	m       *model
	op      int
	history []string         // the last operations, for the failure report
	sent    []ledger.Request // every request sent, for retries and key reuse
	lastTxn int64            // transaction ids must grow
	crashes int
	counts  map[string]int // operations by name and outcome
}

// Unknown is an account id that no database has.
const unknownAccount = katong.AccountID(1 << 40)

var clients = []string{"app", "wallet", "teller"}

func newSim(t *testing.T, o Opener, db *sqlstore.DB, seed uint64, ops int) *sim {
	s := &sim{t: t, o: o, db: db, ctx: context.Background(), seed: seed, ops: ops,
		clock: testkit.NewClock(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		rng:   rand.New(rand.NewPCG(seed, 0x7838)), m: newModel(), counts: map[string]int{}}
	db.Now = s.clock.Now
	MustEnsureSystem(t, db)
	for _, kind := range []katong.AccountKind{katong.KindCash, katong.KindSettlement, katong.KindFees, katong.KindClearing} {
		id, err := db.Ledger().System(s.ctx, kind)
		if err != nil {
			t.Fatal(err)
		}
		s.m.addAccount(id, kind)
		s.m.system[kind] = id
	}
	for i := range 5 {
		s.m.addAccount(MustOpenAccount(t, db, fmt.Sprintf("model-%d", i)), katong.KindCustomer)
	}
	s.l = startLedger(t, db, s.clock.Now)
	t.Cleanup(func() { s.l.Close() })
	return s
}

// fail reports a divergence with what led to it and how to replay it.
func (s *sim) fail(format string, args ...any) {
	s.t.Helper()
	s.t.Fatalf("T8 divergence, seed %d, op %d: %s\nlast operations:\n  %s\nreplay with:\n  %s",
		s.seed, s.op, fmt.Sprintf(format, args...), strings.Join(s.history, "\n  "),
		replayCommand(s.t, fmt.Sprintf("KATONG_T8_SEED=%d KATONG_T8_OPS=%d", s.seed, s.ops)))
}

func (s *sim) note(format string, args ...any) {
	s.history = append(s.history, fmt.Sprintf("%d: ", s.op)+fmt.Sprintf(format, args...))
	if len(s.history) > 12 {
		s.history = s.history[1:]
	}
}

type weighted struct {
	name   string
	weight int
	fn     func(*sim)
}

var simOps = []weighted{
	{"transfer", 30, (*sim).opTransfer},
	{"deposit", 12, opCredit(katong.TxnDeposit)},
	{"salary", 3, opCredit(katong.TxnSalary)},
	{"refund", 4, opCredit(katong.TxnRefund)},
	{"withdrawal", 9, opDebit(katong.TxnWithdrawal)},
	{"payment", 6, opDebit(katong.TxnPayment)},
	{"fee", 3, opDebit(katong.TxnFee)},
	{"hold", 10, (*sim).opHold},
	{"capture", 7, opSettle(katong.TxnCapture)},
	{"release", 5, opSettle(katong.TxnRelease)},
	{"freeze", 3, opStatus(katong.StatusFrozen)},
	{"unfreeze", 8, opStatus(katong.StatusActive)},
	{"close", 1, opStatus(katong.StatusClosed)},
	{"balance", 6, (*sim).opBalance},
	{"entries", 4, (*sim).opEntries},
	{"holds", 2, (*sim).opHolds},
	{"retry", 8, (*sim).opRetry},
	{"reuse", 4, (*sim).opReuse},
	{"other-client", 3, (*sim).opOtherClient},
	{"invalid", 3, (*sim).opInvalid},
	{"crash", 1, (*sim).opCrash},
}

func (s *sim) run() {
	total := 0
	for _, w := range simOps {
		total += w.weight
	}
	for s.op = 1; s.op <= s.ops; s.op++ {
		s.clock.Advance(time.Second)
		if s.rng.IntN(50) == 0 {
			s.clock.Advance(time.Duration(1+s.rng.IntN(48)) * time.Hour)
		}
		n := s.rng.IntN(total)
		for _, w := range simOps {
			if n -= w.weight; n < 0 {
				w.fn(s)
				break
			}
		}
		if s.op%100 == 0 {
			s.checkAll(false)
		}
	}
	s.checkAll(true)
	var names []string
	for k := range s.counts {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, " %s=%d", k, s.counts[k])
	}
	s.t.Logf("seed %d: %d ops, %d crashes;%s", s.seed, s.ops, s.crashes, b.String())
}

// Generators. Each draws only from s.rng and the model, never from the
// real store, so that a seed always makes the same sequence.

func (s *sim) customer() katong.AccountID {
	return s.m.customers[s.rng.IntN(len(s.m.customers))]
}

// anyAccount is usually a customer's, sometimes the bank's own or one that
// does not exist.
func (s *sim) anyAccount() katong.AccountID {
	switch n := s.rng.IntN(100); {
	case n < 88:
		return s.customer()
	case n < 95:
		return s.m.order[s.rng.IntN(len(s.m.order))]
	default:
		return unknownAccount
	}
}

func (s *sim) amount(avail katong.Amount) katong.Amount {
	switch n := s.rng.IntN(100); {
	case n < 55 && avail > 0:
		return 1 + katong.Amount(s.rng.Int64N(int64(avail)))
	case n < 75:
		return 1 + katong.Amount(s.rng.IntN(20000))
	case n < 85 && avail > 0:
		return avail
	case n < 97:
		return max(avail, 0) + 1 + katong.Amount(s.rng.IntN(1000))
	default:
		return []katong.Amount{0, -1 - katong.Amount(s.rng.IntN(100)), ledger.MaxAmount + 1, ledger.MaxAmount}[s.rng.IntN(4)]
	}
}

func (s *sim) avail(id katong.AccountID) katong.Amount {
	if a := s.m.accounts[id]; a != nil {
		return a.booked - a.held
	}
	return 0
}

func (s *sim) memo() string {
	switch n := s.rng.IntN(100); {
	case n < 10:
		return fmt.Sprintf("memo %d", s.op)
	case n == 10:
		return strings.Repeat("x", 141)
	}
	return ""
}

func (s *sim) newRequest(kind katong.TxnKind) ledger.Request {
	return ledger.Request{Client: clients[s.rng.IntN(len(clients))], Key: fmt.Sprintf("op-%d", s.op), Kind: kind, Memo: s.memo()}
}

func (s *sim) opTransfer() {
	r := s.newRequest(katong.TxnTransfer)
	r.From, r.To = s.anyAccount(), s.anyAccount()
	if r.To == r.From && s.rng.IntN(4) > 0 {
		r.To = s.customer() // mostly two accounts; sometimes one (EInvalid)
	}
	r.Amount = s.amount(s.avail(r.From))
	s.do("transfer", r)
}

func opCredit(kind katong.TxnKind) func(*sim) {
	return func(s *sim) {
		r := s.newRequest(kind)
		r.To = s.anyAccount()
		r.Amount = 1 + katong.Amount(s.rng.IntN(100000))
		if s.rng.IntN(30) == 0 {
			r.Amount = s.amount(0)
		}
		s.do(string(kind), r)
	}
}

func opDebit(kind katong.TxnKind) func(*sim) {
	return func(s *sim) {
		r := s.newRequest(kind)
		r.From = s.anyAccount()
		r.Amount = s.amount(s.avail(r.From))
		s.do(string(kind), r)
	}
}

func (s *sim) opHold() {
	r := s.newRequest(katong.TxnHold)
	r.From = s.anyAccount()
	r.Amount = s.amount(s.avail(r.From))
	s.do("hold", r)
}

func opSettle(kind katong.TxnKind) func(*sim) {
	return func(s *sim) {
		r := s.newRequest(kind)
		var active []*mHold
		for _, h := range s.m.holds {
			if h.status == katong.HoldActive {
				active = append(active, h)
			}
		}
		switch n := s.rng.IntN(100); {
		case n < 65 && len(active) > 0:
			r.HoldID = active[s.rng.IntN(len(active))].id
		case n < 90 && len(s.m.holds) > 0:
			// Mostly a recent hold, sometimes an old, settled one.
			i := len(s.m.holds) - 1 - s.rng.IntN(min(len(s.m.holds), 5))
			if s.rng.IntN(4) == 0 {
				i = s.rng.IntN(len(s.m.holds))
			}
			r.HoldID = s.m.holds[i].id
		case n < 97:
			r.HoldID = 1 << 40 // no such hold
		default:
			r.HoldID = 0 // invalid
		}
		s.do(string(kind), r)
	}
}

func opStatus(st katong.AccountStatus) func(*sim) {
	return func(s *sim) {
		id := s.anyAccount()
		reason := ""
		if st != katong.StatusActive {
			reason = fmt.Sprintf("%s at op %d", st, s.op)
		}
		err := s.db.Ledger().SetStatus(s.ctx, id, st, reason)
		want := s.m.setStatus(id, st, reason)
		s.note("SetStatus(%d, %s) = %v", id, st, err)
		s.counts["status "+string(st)+" "+codeName(want)]++
		if got := katong.ErrorCode(err); got != want {
			s.fail("SetStatus(%d, %s) = %v; model says %q", id, st, err, want)
		}
	}
}

func (s *sim) opBalance() {
	id := s.anyAccount()
	b, err := s.l.Balance(s.ctx, id)
	s.note("Balance(%d) = %+v, %v", id, b, err)
	a := s.m.accounts[id]
	if a == nil {
		if katong.ErrorCode(err) != katong.ENotFound {
			s.fail("Balance(%d) = %+v, %v; model says %s", id, b, err, katong.ENotFound)
		}
		s.counts["balance "+codeName(katong.ENotFound)]++
		return
	}
	s.counts["balance ok"]++
	if err != nil || b.AccountID != id || b.Booked != a.booked || b.Available != a.booked-a.held {
		s.fail("Balance(%d) = %+v, %v; model says booked %d available %d", id, b, err, a.booked, a.booked-a.held)
	}
}

func (s *sim) opEntries() {
	id := s.anyAccount()
	f := katong.EntryFilter{Limit: 1 + s.rng.IntN(12)}
	if s.rng.IntN(3) == 0 {
		start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		span := s.clock.Now().Sub(start)
		from := start.Add(time.Duration(s.rng.Int64N(int64(span) + 1))).Truncate(time.Second)
		to := from.Add(time.Duration(1+s.rng.IntN(7200)) * time.Second)
		f.From, f.To = &from, &to
	}
	got, err := s.db.Ledger().Entries(s.ctx, id, f)
	s.note("Entries(%d, limit %d) = %d entries, %v", id, f.Limit, len(got), err)
	s.counts["entries"]++
	if err != nil {
		s.fail("Entries(%d): %v", id, err)
	}
	s.compareEntries(id, f, got)
}

func (s *sim) compareEntries(id katong.AccountID, f katong.EntryFilter, got []katong.Entry) {
	var want []mEntry
	if a := s.m.accounts[id]; a != nil {
		for i := len(a.entries) - 1; i >= 0 && len(want) < f.Limit; i-- {
			e := a.entries[i]
			if (f.From == nil || !e.at.Before(*f.From)) && (f.To == nil || e.at.Before(*f.To)) {
				want = append(want, e)
			}
		}
	}
	if len(got) != len(want) {
		s.fail("Entries(%d, %+v) has %d entries; model has %d", id, f, len(got), len(want))
	}
	for i, e := range got {
		w := want[i]
		if e.AccountID != id || e.TxnID != w.txn || e.Kind != w.kind || e.Amount != w.amount || e.BalanceAfter != w.after ||
			e.Memo != w.memo || !e.At.Equal(w.at) {
			s.fail("Entries(%d)[%d] = txn %d %s %d after %d %q at %v; model has txn %d %s %d after %d %q at %v", id, i,
				e.TxnID, e.Kind, e.Amount, e.BalanceAfter, e.Memo, e.At, w.txn, w.kind, w.amount, w.after, w.memo, w.at)
		}
	}
}

func (s *sim) opHolds() {
	id := s.anyAccount()
	got, err := s.db.Ledger().Holds(s.ctx, id)
	s.note("Holds(%d) = %d holds, %v", id, len(got), err)
	s.counts["holds"]++
	if err != nil {
		s.fail("Holds(%d): %v", id, err)
	}
	s.compareHolds(id, got)
}

func (s *sim) compareHolds(id katong.AccountID, got []katong.Hold) {
	var want []*mHold
	for i := len(s.m.holds) - 1; i >= 0; i-- {
		if h := s.m.holds[i]; h.account == id && h.status == katong.HoldActive {
			want = append(want, h)
		}
	}
	if len(got) != len(want) {
		s.fail("Holds(%d) has %d active holds; model has %d", id, len(got), len(want))
	}
	for i, h := range got {
		w := want[i]
		if h.ID != w.id || h.AccountID != id || h.Amount != w.amount || h.Status != katong.HoldActive || h.Memo != w.memo || !h.At.Equal(w.at) {
			s.fail("Holds(%d)[%d] = %+v; model has %+v", id, i, h, *w)
		}
	}
}

// opRetry sends an earlier request again, unchanged.
func (s *sim) opRetry() {
	if len(s.sent) == 0 {
		return
	}
	s.do("retry", s.sent[len(s.sent)-1-s.rng.IntN(min(len(s.sent), 50))])
}

// opReuse sends an earlier key with another request.
func (s *sim) opReuse() {
	if len(s.sent) == 0 {
		return
	}
	r := s.sent[s.rng.IntN(len(s.sent))]
	switch s.rng.IntN(3) {
	case 0:
		r.Amount++
	case 1:
		r.Memo += "!"
	default:
		r.To = s.customer()
	}
	s.do("reuse", r)
}

// opOtherClient sends an earlier request, key and all, as another client.
func (s *sim) opOtherClient() {
	if len(s.sent) == 0 {
		return
	}
	r := s.sent[s.rng.IntN(len(s.sent))]
	i := slices.Index(clients, r.Client)
	r.Client = clients[(i+1+s.rng.IntN(len(clients)-1))%len(clients)]
	s.do("other-client", r)
}

func (s *sim) opInvalid() {
	r := s.newRequest(katong.TxnTransfer)
	r.From, r.To, r.Amount = s.customer(), s.customer(), 1
	switch s.rng.IntN(6) {
	case 0:
		r.Key = ""
	case 1:
		r.Client = ""
	case 2:
		r.Key = strings.Repeat("k", 129)
	case 3:
		r.Kind = "steal"
	case 4:
		r.Kind, r.HoldID = katong.TxnCapture, 0
	default:
		r.Amount = 0
	}
	s.do("invalid", r)
}

// opCrash stops the ledger and reopens the database as a restarted
// process would, then checks that nothing was lost.
func (s *sim) opCrash() {
	s.note("crash")
	s.crashes++
	s.counts["crash"]++
	s.l.Close()
	s.db = s.o.Reopen(s.t, s.db)
	s.db.Now = s.clock.Now
	s.l = startLedger(s.t, s.db, s.clock.Now)
	s.checkAll(false)
}

func codeName(c katong.Code) string {
	if c == "" {
		return "ok"
	}
	return string(c)
}

// do sends r to the ledger and to the model and compares.
func (s *sim) do(name string, r ledger.Request) {
	s.sent = append(s.sent, r)
	want := s.m.apply(r, s.clock.Now())
	res, err := s.l.Do(s.ctx, r)
	got := katong.ErrorCode(err)
	s.note("%s %s/%s %s %d from %d to %d hold %d memo %q: %+v, %v; model %s",
		name, r.Client, r.Key, r.Kind, r.Amount, r.From, r.To, r.HoldID, r.Memo, res, err, codeName(want.code))
	s.counts[name+" "+codeName(want.code)]++
	if got != want.code {
		s.fail("%s: code %q (%v); model says %q", r.Kind, got, err, want.code)
	}
	if err != nil {
		return
	}
	if want.replay != nil {
		stored := *want.replay
		stored.Replayed = true
		if !sameResult(res, &stored) {
			s.fail("replay of %s/%s = %+v; want the first result %+v", r.Client, r.Key, res, stored)
		}
		return
	}
	if res.Replayed || res.Kind != r.Kind || res.Amount != want.amount || !res.At.Equal(s.clock.Now()) ||
		!reflect.DeepEqual(res.Balances, want.balances) {
		s.fail("%s = %+v; model says kind %s amount %d at %v balances %v", r.Kind, res, r.Kind, want.amount, s.clock.Now(), want.balances)
	}
	if want.txn {
		if res.TxnID <= s.lastTxn {
			s.fail("%s: txn id %d not above the last, %d", r.Kind, res.TxnID, s.lastTxn)
		}
		s.lastTxn = res.TxnID
	} else if res.TxnID != 0 {
		s.fail("%s: txn id %d; want none", r.Kind, res.TxnID)
	}
	switch {
	case r.Kind == katong.TxnHold:
		if res.HoldID <= 0 || s.m.holdByID[res.HoldID] != nil {
			s.fail("hold: id %d is not new", res.HoldID)
		}
	case want.hold != nil:
		if res.HoldID != want.hold.id {
			s.fail("%s: hold id %d; want %d", r.Kind, res.HoldID, want.hold.id)
		}
	case res.HoldID != 0:
		s.fail("%s: hold id %d; want none", r.Kind, res.HoldID)
	}
	want.commit(res)
}

func sameResult(a, b *ledger.Result) bool {
	return a.TxnID == b.TxnID && a.HoldID == b.HoldID && a.Kind == b.Kind && a.Amount == b.Amount &&
		a.At.Equal(b.At) && reflect.DeepEqual(a.Balances, b.Balances) && a.Replayed == b.Replayed
}

// checkAll compares the whole store with the model.
func (s *sim) checkAll(entries bool) {
	accounts, err := s.db.Ledger().Accounts(s.ctx)
	if err != nil {
		s.fail("Accounts: %v", err)
	}
	if len(accounts) != len(s.m.order) {
		s.fail("Accounts has %d accounts; model has %d", len(accounts), len(s.m.order))
	}
	for _, a := range accounts {
		w := s.m.accounts[a.ID]
		if w == nil {
			s.fail("account %d is not in the model", a.ID)
		}
		if a.Kind != w.kind || a.Status != w.status || a.FreezeReason != w.reason || a.Booked != w.booked || a.Held != w.held {
			s.fail("account %d = %s %s %q booked %d held %d; model has %s %s %q booked %d held %d", a.ID,
				a.Kind, a.Status, a.FreezeReason, a.Booked, a.Held, w.kind, w.status, w.reason, w.booked, w.held)
		}
		hs, err := s.db.Ledger().Holds(s.ctx, a.ID)
		if err != nil {
			s.fail("Holds(%d): %v", a.ID, err)
		}
		s.compareHolds(a.ID, hs)
		if entries {
			f := katong.EntryFilter{Limit: 1000}
			es, err := s.db.Ledger().Entries(s.ctx, a.ID, f)
			if err != nil {
				s.fail("Entries(%d): %v", a.ID, err)
			}
			s.compareEntries(a.ID, f, es)
		}
	}
	if v := LedgerViolations(s.ctx, s.db); len(v) > 0 {
		s.fail("ledger invariants: %s", strings.Join(v, "; "))
	}
}

// The model: the ledger's rules restated over maps.

type model struct {
	accounts  map[katong.AccountID]*mAccount
	order     []katong.AccountID // every account, by id
	customers []katong.AccountID
	system    map[katong.AccountKind]katong.AccountID
	holds     []*mHold // in creation order
	holdByID  map[int64]*mHold
	records   map[string]*mRecord // by client and key
}

type mAccount struct {
	id           katong.AccountID
	kind         katong.AccountKind
	status       katong.AccountStatus
	reason       string
	booked, held katong.Amount
	entries      []mEntry // oldest first
}

type mEntry struct {
	txn           int64
	kind          katong.TxnKind
	amount, after katong.Amount
	memo          string
	at            time.Time
}

type mHold struct {
	id      int64
	account katong.AccountID
	amount  katong.Amount
	status  katong.HoldStatus
	memo    string
	at      time.Time
}

// mRecord is a stored idempotency record: the request and the result the
// ledger gave the first time.
type mRecord struct {
	req ledger.Request
	res ledger.Result
}

func newModel() *model {
	return &model{accounts: map[katong.AccountID]*mAccount{}, system: map[katong.AccountKind]katong.AccountID{},
		holdByID: map[int64]*mHold{}, records: map[string]*mRecord{}}
}

func (m *model) addAccount(id katong.AccountID, kind katong.AccountKind) {
	m.accounts[id] = &mAccount{id: id, kind: kind, status: katong.StatusActive}
	m.order = append(m.order, id)
	if kind == katong.KindCustomer {
		m.customers = append(m.customers, id)
	}
}

func (m *model) setStatus(id katong.AccountID, st katong.AccountStatus, reason string) katong.Code {
	a := m.accounts[id]
	if a == nil || a.kind != katong.KindCustomer || a.status == katong.StatusClosed {
		return katong.ENotFound // closing is final
	}
	a.status, a.reason = st, reason
	return ""
}

// expect is what the model expects of one request.
type expect struct {
	code     katong.Code
	replay   *ledger.Result // the stored result a retry gets
	amount   katong.Amount
	balances map[katong.AccountID]katong.Amount
	txn      bool   // a transaction is written
	hold     *mHold // the hold captured or released
	commit   func(*ledger.Result)
}

var (
	creditKinds = map[katong.TxnKind]katong.AccountKind{
		katong.TxnDeposit: katong.KindCash, katong.TxnSalary: katong.KindClearing, katong.TxnRefund: katong.KindSettlement}
	debitKinds = map[katong.TxnKind]katong.AccountKind{
		katong.TxnWithdrawal: katong.KindCash, katong.TxnPayment: katong.KindSettlement, katong.TxnFee: katong.KindFees}
)

// customer applies the status rules to an account credited or debited.
func (m *model) customer(id katong.AccountID, debit bool) (*mAccount, katong.Code) {
	a := m.accounts[id]
	switch {
	case a == nil || a.kind != katong.KindCustomer:
		return nil, katong.ENotFound
	case a.status == katong.StatusClosed:
		return nil, katong.EClosed
	case debit && a.status == katong.StatusFrozen:
		return nil, katong.EAbnormal
	}
	return a, ""
}

func (m *model) debitable(id katong.AccountID, amt katong.Amount) (*mAccount, katong.Code) {
	a, code := m.customer(id, true)
	if code == "" && a.booked-a.held < amt {
		return nil, katong.EInsufficient
	}
	return a, code
}

func invalid(r ledger.Request) bool {
	if r.Client == "" || r.Key == "" || len(r.Key) > 128 {
		return true
	}
	switch r.Kind {
	case katong.TxnCapture, katong.TxnRelease:
		return r.HoldID <= 0
	case katong.TxnTransfer, katong.TxnHold:
	default:
		if creditKinds[r.Kind] == "" && debitKinds[r.Kind] == "" {
			return true
		}
	}
	return r.Amount <= 0 || r.Amount > ledger.MaxAmount || len(r.Memo) > 140
}

// apply says what r must do; its commit, called with the real result
// once the codes agree, changes the model.
func (m *model) apply(r ledger.Request, now time.Time) expect {
	if invalid(r) {
		return expect{code: katong.EInvalid}
	}
	scope := r.Client + "\x00" + r.Key
	if rec := m.records[scope]; rec != nil {
		if rec.req != r {
			return expect{code: katong.EKeyReused}
		}
		return expect{replay: &rec.res}
	}
	record := func(res *ledger.Result) {
		stored := *res
		m.records[scope] = &mRecord{req: r, res: stored}
	}
	// move posts amt from one account to the other.
	move := func(w *expect, from, to *mAccount, amt katong.Amount) func(*ledger.Result) {
		w.txn = true
		for _, a := range []*mAccount{from, to} {
			if a.kind == katong.KindCustomer {
				after := a.booked + amt
				if a == from {
					after = a.booked - amt
				}
				w.balances[a.id] = after
			}
		}
		return func(res *ledger.Result) {
			from.booked -= amt
			to.booked += amt
			from.entries = append(from.entries, mEntry{res.TxnID, r.Kind, -amt, from.booked, r.Memo, now})
			to.entries = append(to.entries, mEntry{res.TxnID, r.Kind, amt, to.booked, r.Memo, now})
		}
	}
	w := expect{amount: r.Amount, balances: map[katong.AccountID]katong.Amount{}}
	var code katong.Code
	var from, to *mAccount
	var post func(*ledger.Result)
	switch {
	case creditKinds[r.Kind] != "":
		if to, code = m.customer(r.To, false); code != "" {
			return expect{code: code}
		}
		post = move(&w, m.accounts[m.system[creditKinds[r.Kind]]], to, r.Amount)
	case debitKinds[r.Kind] != "":
		if from, code = m.debitable(r.From, r.Amount); code != "" {
			return expect{code: code}
		}
		post = move(&w, from, m.accounts[m.system[debitKinds[r.Kind]]], r.Amount)
	case r.Kind == katong.TxnTransfer:
		if r.From == r.To {
			return expect{code: katong.EInvalid}
		}
		if from, code = m.debitable(r.From, r.Amount); code != "" {
			return expect{code: code}
		}
		if to, code = m.customer(r.To, false); code != "" {
			return expect{code: code}
		}
		post = move(&w, from, to, r.Amount)
	case r.Kind == katong.TxnHold:
		if from, code = m.debitable(r.From, r.Amount); code != "" {
			return expect{code: code}
		}
		w.balances[from.id] = from.booked
		post = func(res *ledger.Result) {
			h := &mHold{id: res.HoldID, account: from.id, amount: r.Amount, status: katong.HoldActive, memo: r.Memo, at: now}
			m.holds = append(m.holds, h)
			m.holdByID[h.id] = h
			from.held += r.Amount
		}
	default: // capture, release
		h := m.holdByID[r.HoldID]
		if h == nil {
			return expect{code: katong.ENotFound}
		}
		if h.status != katong.HoldActive {
			return expect{code: katong.EConflict}
		}
		capture := r.Kind == katong.TxnCapture
		a, code := m.customer(h.account, capture)
		if code != "" {
			return expect{code: code}
		}
		w.hold, w.amount = h, h.amount
		release := func() {
			h.status = katong.HoldReleased
			if capture {
				h.status = katong.HoldCaptured
			}
			a.held -= h.amount
		}
		if capture {
			settle := move(&w, a, m.accounts[m.system[katong.KindSettlement]], h.amount)
			post = func(res *ledger.Result) { release(); settle(res) }
		} else {
			w.balances[a.id] = a.booked
			post = func(*ledger.Result) { release() }
		}
	}
	w.commit = func(res *ledger.Result) {
		post(res)
		record(res)
	}
	return w
}
