// Package bank is one bank's service: customers, their accounts and cards,
// staff, and the balance query every channel goes through. It holds the
// rules the channels share (card checks without enumeration, lock-out,
// per-channel query limits, status, audit); the channels only translate.
package bank

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"time"

	"katong"
	"katong/auth"
	"katong/ledger"
	"katong/secret"
	"katong/shortcache"
	"katong/sqlstore"
)

// Bank is one bank of the deployment.
type Bank struct {
	Config katong.Bank
	DB     *sqlstore.DB
	Ledger *ledger.Ledger
	Vault  *secret.Vault
	Auth   *auth.Service
	// Now is the clock; tests move it.
	Now func() time.Time

	cards *shortcache.Cache[katong.CardID, katong.Card] // by id: a card never changes once issued
	// customerCards are each customer's cards, for a few seconds: an
	// issue through this process drops the list at once; through another,
	// the new card shows within customerCardsTTL.
	customerCards *shortcache.Cache[katong.CustomerID, []*katong.Card]
}

// customerCardsTTL bounds how long a customer's card list is kept.
const customerCardsTTL = 5 * time.Second

// cardCache is how long a card read by id is kept: a card row is never
// changed once issued, so this only bounds the memory.
const cardCache = time.Minute

// New returns the bank on its database. It opens the bank's own accounts
// if they are missing and starts the ledger; Close stops it.
func New(ctx context.Context, cfg katong.Bank, db *sqlstore.DB, vault *secret.Vault, o ledger.Options) (*Bank, error) {
	if err := db.Ledger().EnsureSystem(ctx); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = db.Now
	}
	b := &Bank{Config: cfg, DB: db, Vault: vault, Now: o.Now, cards: shortcache.New[katong.CardID, katong.Card](cardCache),
		customerCards: shortcache.New[katong.CustomerID, []*katong.Card](customerCardsTTL),
		Ledger:        ledger.New(db.Ledger(), o),
		Auth:          auth.New(db, func(s string) string { return hex.EncodeToString(vault.Lookup("key", s)) })}
	b.Auth.Now = func() time.Time { return b.Now() }
	return b, nil
}

// Close stops the ledger and closes the database.
func (b *Bank) Close() error {
	b.Ledger.Close()
	return b.DB.Close()
}

// NewCustomer is what opening a customer takes.
type NewCustomer struct {
	Name     string
	Mobile   string // any usual spelling; stored in E.164
	IDNumber string
	Password string // for the bank app; may be empty (no app access)
}

// CreateCustomer validates and stores a customer.
func (b *Bank) CreateCustomer(ctx context.Context, n NewCustomer) (*katong.Customer, error) {
	if n.Name == "" || len(n.Name) > 100 {
		return nil, katong.Invalid("name", "name must be 1 to 100 bytes")
	}
	mobile, err := katong.NormalizeMobile(n.Mobile)
	if err != nil {
		return nil, err
	}
	id, err := katong.NormalizeID(n.IDNumber, b.Now())
	if err != nil {
		return nil, err
	}
	hash := ""
	if n.Password != "" {
		if err := auth.CheckPassword(n.Password, auth.CustomerMinLen); err != nil {
			return nil, err
		}
		hash = auth.HashPassword(n.Password)
	}
	c := &katong.Customer{Name: n.Name, Mobile: mobile, IDMasked: katong.MaskID(id)}
	err = b.DB.QueryRowContext(ctx, `INSERT INTO customers (name, mobile, id_hmac, id_sealed, id_masked, password_hash, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.Name, mobile, b.Vault.Lookup("id", id),
		b.Vault.Seal("id", id), c.IDMasked, hash, b.Now().UnixMicro()).Scan(&c.ID)
	if err != nil {
		return nil, katong.Errorf(katong.EInvalid, "customer exists or cannot be stored: %v", err)
	}
	return c, nil
}

// OpenAccount opens a deposit account for the customer.
func (b *Bank) OpenAccount(ctx context.Context, c katong.CustomerID, name string) (katong.AccountID, error) {
	return b.DB.Ledger().OpenAccount(ctx, katong.KindCustomer, c, name)
}

// IssueCard issues a card with the number pan on the account; pin is the
// 6-digit phone PIN, or "" for none.
func (b *Bank) IssueCard(ctx context.Context, c katong.CustomerID, a katong.AccountID, pan, pin string) (*katong.Card, error) {
	pan, err := katong.NormalizeCard(pan)
	if err != nil {
		return nil, err
	}
	if !katong.CheckBIN(pan, b.Config.BINs) {
		return nil, katong.Invalid("card_number", "not a card of %s", b.Config.ID)
	}
	acct, err := b.DB.Ledger().Account(ctx, a)
	if err != nil {
		return nil, err
	}
	if acct.CustomerID != c {
		return nil, katong.Errorf(katong.EForbidden, "account %d is not the customer's", a)
	}
	var pinMAC []byte
	if pin != "" {
		if len(pin) != 6 || !digits(pin) {
			return nil, katong.Invalid("pin", "the phone PIN must be 6 digits")
		}
		pinMAC = b.pinMAC(pan, pin)
	}
	card := &katong.Card{AccountID: a, CustomerID: c, Tail: katong.Tail(pan), Masked: katong.MaskCard(pan), Product: "储蓄卡"}
	err = b.DB.QueryRowContext(ctx, `INSERT INTO cards (account_id, customer_id, pan_hmac, pan_sealed, tail, masked, product, pin_hmac, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id`, a, c, b.Vault.Lookup("pan", pan), b.Vault.Seal("pan", pan),
		card.Tail, card.Masked, card.Product, pinMAC, b.Now().UnixMicro()).Scan(&card.ID)
	b.customerCards.Drop(c)
	if err != nil {
		return nil, katong.Errorf(katong.EInvalid, "card exists or cannot be stored: %v", err)
	}
	return card, nil
}

func (b *Bank) pinMAC(pan, pin string) []byte { return b.Vault.Lookup("pin", pan+"\x00"+pin) }

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

const cardCols = `id, account_id, customer_id, tail, masked, product`

func scanCard(row sqlstore.Scanner) (*katong.Card, error) {
	var c katong.Card
	if err := row.Scan(&c.ID, &c.AccountID, &c.CustomerID, &c.Tail, &c.Masked, &c.Product); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, katong.Errorf(katong.ENotFound, "no such card")
		}
		return nil, err
	}
	return &c, nil
}

// Card returns a card by id. Returns ENotFound if there is none.
func (b *Bank) Card(ctx context.Context, id katong.CardID) (*katong.Card, error) {
	// The cache's own time: a moved test clock must not keep rows.
	c, err := b.cards.Load(id, time.Now(), func() (katong.Card, error) {
		c, err := scanCard(b.DB.Row(ctx, `SELECT `+cardCols+` FROM cards WHERE id = $1`, id))
		if err != nil {
			return katong.Card{}, err
		}
		return *c, nil
	})
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// CardByNumber returns the card with the number, looked up by its HMAC.
// Returns ENotFound if there is none or the number is not valid.
func (b *Bank) CardByNumber(ctx context.Context, pan string) (*katong.Card, error) {
	pan, err := katong.NormalizeCard(pan)
	if err != nil {
		return nil, err
	}
	return scanCard(b.DB.Row(ctx, `SELECT `+cardCols+` FROM cards WHERE pan_hmac = $1`, b.Vault.Lookup("pan", pan)))
}

// CardNumber opens the sealed card number, for the rare role that needs
// it; the caller must audit the unmasking.
func (b *Bank) CardNumber(ctx context.Context, id katong.CardID) (string, error) {
	var sealed []byte
	if err := b.DB.Row(ctx, `SELECT pan_sealed FROM cards WHERE id = $1`, id).Scan(&sealed); err != nil {
		return "", katong.Errorf(katong.ENotFound, "no such card")
	}
	return b.Vault.Open("pan", sealed)
}

// Cards returns the customer's cards (read through customerCards).
func (b *Bank) Cards(ctx context.Context, c katong.CustomerID) ([]*katong.Card, error) {
	// The cache's own time, as Card.
	return b.customerCards.Load(c, time.Now(), func() ([]*katong.Card, error) {
		return sqlstore.All(ctx, b.DB, scanCard, `SELECT `+cardCols+` FROM cards WHERE customer_id = $1 ORDER BY id`, c)
	})
}

// Customer returns a customer by id.
func (b *Bank) Customer(ctx context.Context, id katong.CustomerID) (*katong.Customer, error) {
	var c katong.Customer
	err := b.DB.Row(ctx, `SELECT id, name, mobile, id_masked FROM customers WHERE id = $1`, id).
		Scan(&c.ID, &c.Name, &c.Mobile, &c.IDMasked)
	if err != nil {
		return nil, katong.Errorf(katong.ENotFound, "no such customer")
	}
	return &c, nil
}

// Account returns a customer's account; another customer's account is
// ENotFound, the same answer as no account at all.
func (b *Bank) Account(ctx context.Context, c katong.CustomerID, id katong.AccountID) (*katong.Account, error) {
	a, err := b.DB.Ledger().Account(ctx, id)
	if err != nil || a.Kind != katong.KindCustomer || a.CustomerID != c {
		if err != nil && katong.ErrorCode(err) != katong.ENotFound {
			return nil, err
		}
		return nil, katong.Errorf(katong.ENotFound, "no account %d for customer %d", id, c)
	}
	return a, nil
}
