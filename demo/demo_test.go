package demo_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"katong"
	"katong/bank"
	"katong/banktest"
	"katong/demo"
	"katong/ledger"
	"katong/ledgerapi"
	"katong/secret"
	"katong/sqlstore"
)

func TestInfoDeterministic(t *testing.T) {
	a, b := demo.Info(), demo.Info()
	if !reflect.DeepEqual(a, b) {
		t.Fatal("demo world differs between calls")
	}
	now := time.Now()
	pans := map[string]bool{}
	for _, c := range a.Customers {
		if _, err := katong.NormalizeID(c.IDNumber, now); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		if _, err := katong.NormalizeMobile(c.Mobile); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		for _, card := range c.Cards {
			if _, err := katong.NormalizeCard(card.Number); err != nil || pans[card.Number] {
				t.Errorf("%s card %s: %v (or repeated)", c.Name, katong.MaskCard(card.Number), err)
			}
			pans[card.Number] = true
		}
	}
	if len(a.Customers) != 12 || len(pans) < 14 {
		t.Fatalf("%d customers, %d cards", len(a.Customers), len(pans))
	}
}

func TestSeed(t *testing.T) {
	ctx := context.Background()
	v, _ := secret.NewVault(demo.MasterKey)
	cfg := demo.Banks()[0]
	db := banktest.SQLite(t, sqlstore.BankSchema)
	b, err := bank.New(ctx, cfg, db, v, ledger.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Ledger.Close()
	now := time.Date(2026, 11, 26, 10, 0, 0, 0, katong.Shanghai)
	if err := demo.Seed(ctx, b, now); err != nil {
		t.Fatal(err)
	}
	if err := demo.Seed(ctx, b, now); err != nil {
		t.Fatalf("second seed: %v", err)
	}
	rep, err := ledgerapi.Check(ctx, b)
	if err != nil || !rep.OK {
		t.Fatalf("ledger check: %+v %v", rep, err)
	}
	if rep.Txns < 300 {
		t.Fatalf("only %d transactions of history", rep.Txns)
	}
	var frozen, low, held int
	for _, c := range demo.Info().Customers {
		if c.Bank != cfg.ID {
			continue
		}
		if _, _, err := b.Login(ctx, c.Mobile, c.Password, ""); err != nil {
			t.Errorf("login %s: %v", c.Name, err)
		}
		for _, card := range c.Cards {
			got, err := b.VerifyCard(ctx, card.Number, bank.Secret{IDNumber: c.IDNumber})
			if err != nil {
				t.Fatalf("card of %s: %v", c.Name, err)
			}
			a, _ := b.DB.Ledger().Account(ctx, got.AccountID)
			if a.Status == katong.StatusFrozen {
				frozen++
			}
			if card.Low && a.Available() < 2000 && a.Available() >= 0 {
				low++
			}
			if a.Held > 0 {
				held++
			}
			entries, _ := b.DB.Ledger().Entries(ctx, a.ID, katong.EntryFilter{Limit: 1000})
			if len(entries) == 0 || entries[len(entries)-1].At.After(now.AddDate(0, -11, 0)) {
				t.Errorf("%s: history does not reach back a year", c.Name)
			}
		}
	}
	if low != 1 || held != 1 {
		t.Errorf("low=%d held=%d, want one card near zero and one pending hold", low, held)
	}
	_ = frozen // the frozen demo account is at the other bank
}
