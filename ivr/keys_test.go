package ivr

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"testing"

	"katong"
	"katong/bank"
)

type okBank struct{}

func (okBank) VerifyCard(ctx context.Context, pan string, s bank.Secret) (*katong.Card, error) {
	return &katong.Card{Tail: "7894"}, nil
}

// AuditCardCheck keeps nothing: this test does not read the audit log.
func (okBank) AuditCardCheck(context.Context, katong.Channel, string, string, string, katong.Code) error {
	return nil
}

func (okBank) Balance(ctx context.Context, q bank.Query) (*katong.Balance, error) {
	return &katong.Balance{Available: 1}, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestDigitBuffersAreZeroedAndNeverPrinted(t *testing.T) {
	ctx := context.Background()
	c := New(Config{Auth: AuthPIN}, okBank{}, nil).Call("", "")
	c.Start()
	c.Key(ctx, '1')
	buf := c.buf[:cap(c.buf)]
	for _, k := range "6222021234567894" {
		c.Key(ctx, k)
	}
	// Neither fmt nor slog prints the digits.
	var out bytes.Buffer
	slog.New(slog.NewTextHandler(&out, nil)).Info("call", "buf", c.buf)
	if s := fmt.Sprint(c.buf) + fmt.Sprintf("%v %s", c.buf, c.buf) + out.String(); bytes.Contains([]byte(s), []byte("6222")) {
		t.Fatalf("digits printed: %s", s)
	}
	c.Key(ctx, '#')
	if !allZero(buf) {
		t.Fatalf("card digits left in the key buffer: %q", buf)
	}
	card := c.card[:cap(c.card)]
	if string(c.card) != "6222021234567894" {
		t.Fatalf("card held %d digits", len(c.card))
	}
	for _, k := range "123456#" {
		c.Key(ctx, k)
	}
	if !allZero(buf) || !allZero(card) || len(c.card) != 0 {
		t.Fatalf("digits left after the check: buf %q card %q", buf, card)
	}
	if c.step != stepResult {
		t.Fatalf("step %d", c.step)
	}
	// A hang-up in the middle of a number clears it too.
	c.Key(ctx, '1')
	for _, k := range "62220212" {
		c.Key(ctx, k)
	}
	c.Hangup()
	if !allZero(buf) || !c.Done() {
		t.Fatalf("digits left after hang-up: %q", buf)
	}
}
