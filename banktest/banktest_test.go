package banktest

import (
	"context"
	"testing"

	"katong"
	"katong/bank"
)

func TestWorld(t *testing.T) {
	w := New(t)
	ctx := context.Background()
	card, err := w.Bank.VerifyCard(ctx, w.Alice.PAN, bank.Secret{IDNumber: w.Alice.IDNumber})
	if err != nil {
		t.Fatal(err)
	}
	bal, err := w.Bank.Balance(ctx, bank.Query{Channel: katong.ChannelCounter, Actor: "test", Card: card})
	if err != nil || bal.Available != 120507 || bal.Booked != 120507 {
		t.Fatalf("balance = %+v, %v", bal, err)
	}
	for name, s := range map[string]bank.Secret{"wrong id": {IDNumber: w.Bob.IDNumber}, "wrong pin": {PIN: "000000"}} {
		if _, err := w.Bank.VerifyCard(ctx, w.Alice.PAN, s); katong.ErrorCode(err) != katong.ENotFound {
			t.Errorf("%s: %v", name, err)
		}
	}
	card, err = w.Bank.VerifyCard(ctx, w.Frozen.PAN, bank.Secret{PIN: w.Frozen.PIN})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Bank.Balance(ctx, bank.Query{Channel: katong.ChannelPhone, Card: card}); katong.ErrorCode(err) != katong.EAbnormal {
		t.Fatalf("frozen: %v", err)
	}
	if _, _, err := w.Bank.Login(ctx, w.Alice.Mobile, w.Alice.Password, "dev1"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := w.Bank.StaffLogin(ctx, "t001", w.StaffPassword); err != nil {
		t.Fatal(err)
	}
	log, err := w.Bank.Auth.AuditLog(ctx, 0, 10)
	if err != nil || len(log) != 2 || log[0].Result != string(katong.EAbnormal) {
		t.Fatalf("audit = %+v, %v", log, err)
	}
}

func TestLockout(t *testing.T) {
	w := New(t)
	ctx := context.Background()
	for i := 0; i < w.Bank.Auth.MaxFailures; i++ {
		if _, err := w.Bank.VerifyCard(ctx, w.Alice.PAN, bank.Secret{PIN: "000000"}); katong.ErrorCode(err) != katong.ENotFound {
			t.Fatal(err)
		}
	}
	// Locked now: the right secret gets the same answer as a wrong one.
	if _, err := w.Bank.VerifyCard(ctx, w.Alice.PAN, bank.Secret{PIN: w.Alice.PIN}); katong.ErrorCode(err) != katong.ENotFound {
		t.Fatalf("locked card verified: %v", err)
	}
	if _, err := w.Bank.VerifyCard(ctx, w.Bob.PAN, bank.Secret{PIN: w.Bob.PIN}); err != nil {
		t.Fatalf("another card is locked too: %v", err)
	}
}
