package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"katong"
	"katong/bank"
	"katong/ledger"
)

// client is the idempotency scope of every demo posting.
const client = "demo"

// doneKey is the key of the last posting of the seed: when it exists, the
// bank is fully seeded.
const doneKey = "seed-done"

// event is one posting of the demo history.
type event struct {
	at  time.Time
	req ledger.Request
}

// clock is a settable clock for backdating the history.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// Seeded reports whether the bank holds the complete demo world.
func Seeded(ctx context.Context, b *bank.Bank) (bool, error) {
	rec, err := b.DB.Ledger().Receipt(ctx, client, doneKey)
	return rec != nil, err
}

// Seed puts the demo world of the bank into its empty database: customers,
// accounts, cards, staff and a year of history up to now. It refuses a
// database that holds customers but not a complete seed.
func Seed(ctx context.Context, b *bank.Bank, now time.Time) error {
	if ok, err := Seeded(ctx, b); err != nil || ok {
		return err
	}
	var n int
	if err := b.DB.QueryRowContext(ctx, `SELECT count(*) FROM customers`).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return fmt.Errorf("demo: bank %s holds %d customers but no complete demo seed; remove its data and start again", b.Config.ID, n)
	}
	w := Info()
	for _, s := range w.Staff {
		if s.Bank == b.Config.ID {
			if _, err := b.CreateStaff(ctx, bank.Staff{Username: s.Username, Name: s.Username, Role: bank.Role(s.Role), Branch: s.Branch}, s.Password); err != nil {
				return err
			}
		}
	}
	type acct struct {
		id   katong.AccountID
		card Card
	}
	var accts []acct
	var frozen []katong.AccountID
	for _, c := range w.Customers {
		if c.Bank != b.Config.ID {
			continue
		}
		cust, err := b.CreateCustomer(ctx, bank.NewCustomer{Name: c.Name, Mobile: c.Mobile, IDNumber: c.IDNumber, Password: c.Password})
		if err != nil {
			return fmt.Errorf("demo customer %s: %w", c.Name, err)
		}
		for _, card := range c.Cards {
			id, err := b.OpenAccount(ctx, cust.ID, "活期储蓄")
			if err != nil {
				return err
			}
			if _, err := b.IssueCard(ctx, cust.ID, id, card.Number, card.PIN); err != nil {
				return fmt.Errorf("demo card of %s: %w", c.Name, err)
			}
			accts = append(accts, acct{id, card})
			if card.Frozen {
				frozen = append(frozen, id)
			}
		}
	}
	start := now.In(katong.Shanghai).AddDate(-1, 0, 0)
	start = time.Date(start.Year(), start.Month(), start.Day(), 9, 0, 0, 0, katong.Shanghai)
	var evs []event
	seq := 0
	add := func(at time.Time, r ledger.Request) {
		if !at.Before(now) {
			return
		}
		seq++
		r.Client, r.Key = client, fmt.Sprintf("seed-%06d", seq)
		evs = append(evs, event{at, r})
	}
	merchants := []string{"美团外卖", "滴滴出行", "盒马鲜生", "星巴克", "京东商城", "便利蜂", "瑞幸咖啡", "中国石化"}
	for i, a := range accts {
		r := rand.New(rand.NewPCG(uint64(a.id), 42))
		add(start.Add(-time.Hour), ledger.Request{Kind: katong.TxnDeposit, To: a.id, Amount: katong.Amount(a.card.Opening), Memo: "开户存入"})
		for m := 0; m < 12; m++ {
			month := start.AddDate(0, m, 0)
			if a.card.Salary > 0 {
				add(time.Date(month.Year(), month.Month(), 10, 9, 30, 0, 0, katong.Shanghai),
					ledger.Request{Kind: katong.TxnSalary, To: a.id, Amount: katong.Amount(a.card.Salary), Memo: "代发工资"})
			}
			pays := 8
			if a.card.Low {
				pays = 1
			}
			for p := 0; p < pays; p++ {
				at := month.Add(time.Duration(r.IntN(28*24)) * time.Hour).Add(time.Duration(r.IntN(3600)) * time.Second)
				amt := katong.Amount(500 + r.IntN(30000))
				if a.card.Low {
					amt = katong.Amount(800 + r.IntN(200))
				}
				add(at, ledger.Request{Kind: katong.TxnPayment, From: a.id, Amount: amt, Memo: merchants[r.IntN(len(merchants))]})
			}
			if !a.card.Low && r.IntN(2) == 0 {
				at := month.Add(time.Duration(r.IntN(28*24)) * time.Hour)
				add(at, ledger.Request{Kind: katong.TxnWithdrawal, From: a.id, Amount: katong.Amount(50000 + 10000*r.IntN(15)), Memo: "ATM取款"})
				if r.IntN(3) == 0 {
					add(at.Add(time.Minute), ledger.Request{Kind: katong.TxnFee, From: a.id, Amount: 200, Memo: "跨行取款手续费"})
				}
			}
			if m%2 == 1 && len(accts) > 1 && !a.card.Low {
				to := accts[(i+1+r.IntN(len(accts)-1))%len(accts)]
				if to.card.Low || to.card.Frozen {
					continue
				}
				add(month.Add(time.Duration(r.IntN(28*24))*time.Hour),
					ledger.Request{Kind: katong.TxnTransfer, From: a.id, To: to.id, Amount: katong.Amount(10000 + 100*r.IntN(2000)), Memo: "转账"})
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].at.Before(evs[j].at) })
	clk := &clock{}
	l := ledger.New(b.DB.Ledger(), ledger.Options{Now: clk.Now})
	defer l.Close()
	do := func(at time.Time, r ledger.Request) (*ledger.Result, error) {
		clk.set(at)
		res, err := l.Do(ctx, r)
		switch katong.ErrorCode(err) {
		case "", katong.EInsufficient:
			return res, nil // a debit the account could not afford is simply left out
		}
		return nil, fmt.Errorf("demo posting %s: %w", r.Key, err)
	}
	for _, e := range evs {
		if _, err := do(e.at, e.req); err != nil {
			return err
		}
	}
	// The first account gets a refund of a payment and a pending hold.
	first := accts[0].id
	if _, err := do(now.Add(-72*time.Hour), ledger.Request{Client: client, Key: "seed-refund", Kind: katong.TxnRefund,
		To: first, Amount: 2590, Memo: "退款 京东商城"}); err != nil {
		return err
	}
	for _, id := range frozen {
		if err := b.DB.Ledger().SetStatus(ctx, id, katong.StatusFrozen, "异常交易 abnormal transactions"); err != nil {
			return err
		}
	}
	_, err := do(now.Add(-2*time.Hour), ledger.Request{Client: client, Key: doneKey, Kind: katong.TxnHold,
		From: first, Amount: 8800, Memo: "预授权 酒店押金"})
	return err
}
