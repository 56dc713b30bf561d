// Package banktest builds small banks for tests: a bank on a fresh SQLite
// (or PostgreSQL) database with two customers, their cards and money, a
// frozen account, a teller and a supervisor. The clear card and ID numbers
// are returned so tests can type them, as people would.
package banktest

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"katong"
	"katong/bank"
	"katong/ledger"
	"katong/secret"
	"katong/sqlite"
	"katong/sqlstore"
)

// Key is the master key of test vaults.
const Key = "6b61746f6e672074657374206d6173746572206b6579202d2d2d2d2d2d2d2d2d"

// Person is a customer with their clear secrets and card.
type Person struct {
	Customer *katong.Customer
	Password string
	Mobile   string
	IDNumber string
	PAN      string
	PIN      string
	Card     *katong.Card
	Account  katong.AccountID
}

// World is a test bank and the people in it.
type World struct {
	Bank       *bank.Bank
	Alice, Bob Person
	Frozen     Person // an account frozen for abnormal transactions
	Teller     *bank.Staff
	Supervisor *bank.Staff
	// StaffPassword is the password of both staff members.
	StaffPassword string
}

// Galaxy is the configuration of the test bank.
func Galaxy() katong.Bank {
	return katong.Bank{ID: "galaxy", Name: "星河银行", NameEN: "Galaxy Bank", BINs: []string{"622202", "622208"},
		Support: "95500", Colour: "#1d4ed8",
		Limits: katong.Limits{App: katong.Rate{N: 30, Per: time.Minute}, Wallet: katong.Rate{N: 60, Per: time.Minute},
			Phone: katong.Rate{N: 10, Per: time.Minute}}}
}

// New builds the world on a fresh SQLite database.
func New(t testing.TB) *World {
	return NewOn(t, SQLite(t, sqlstore.BankSchema))
}

// SQLite opens a fresh database of the schema in a temporary directory,
// closed when the test ends.
func SQLite(t testing.TB, schema sqlstore.Schema) *sqlstore.DB {
	t.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), string(schema)+".db"), schema, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// NewOn builds the world on db.
func NewOn(t testing.TB, db *sqlstore.DB) *World {
	t.Helper()
	ctx := context.Background()
	v, err := secret.NewVault(Key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := bank.New(ctx, Galaxy(), db, v, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Ledger.Close() })
	w := &World{Bank: b, StaffPassword: "counter-staff-pass-2026"}
	w.Alice = w.person(t, "张三", "13800138000", "11010519491231002X", "6222021234567894", "123456", 120507)
	w.Bob = w.person(t, "李四", "13900139000", "110101199003074477", "6222080000000019", "654321", 50000)
	w.Frozen = w.person(t, "王五", "13700137000", "11010119900307803X", "6222020000000023", "111222", 9900)
	if err := b.DB.Ledger().SetStatus(ctx, w.Frozen.Account, katong.StatusFrozen, "abnormal transactions"); err != nil {
		t.Fatal(err)
	}
	if w.Teller, err = b.CreateStaff(ctx, bank.Staff{Username: "t001", Name: "柜员一", Role: bank.Teller, Branch: "南京路支行"}, w.StaffPassword); err != nil {
		t.Fatal(err)
	}
	if w.Supervisor, err = b.CreateStaff(ctx, bank.Staff{Username: "s001", Name: "主管一", Role: bank.Supervisor, Branch: "南京路支行"}, w.StaffPassword); err != nil {
		t.Fatal(err)
	}
	return w
}

func (w *World) person(t testing.TB, name, mobile, id, pan, pin string, fen katong.Amount) Person {
	t.Helper()
	ctx := context.Background()
	p := Person{Password: "secret-" + mobile, Mobile: mobile, IDNumber: id, PAN: pan, PIN: pin}
	c, err := w.Bank.CreateCustomer(ctx, bank.NewCustomer{Name: name, Mobile: mobile, IDNumber: id, Password: p.Password})
	if err != nil {
		t.Fatalf("customer %s: %v", name, err)
	}
	p.Customer = c
	if p.Account, err = w.Bank.OpenAccount(ctx, c.ID, "活期储蓄"); err != nil {
		t.Fatal(err)
	}
	if p.Card, err = w.Bank.IssueCard(ctx, c.ID, p.Account, pan, pin); err != nil {
		t.Fatalf("card %s: %v", name, err)
	}
	if _, err := w.Bank.Ledger.Do(ctx, ledger.Request{Client: "banktest", Key: fmt.Sprintf("open-%d", p.Account),
		Kind: katong.TxnDeposit, To: p.Account, Amount: fen, Memo: "开户存入"}); err != nil {
		t.Fatal(err)
	}
	return p
}
