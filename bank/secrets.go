package bank

import (
	"context"
	"crypto/subtle"
	"database/sql"
	"errors"
	"strconv"

	"katong"
	"katong/auth"
	"katong/sqlstore"
)

// Secret is what proves a card check: the holder's ID number or the
// card's 6-digit phone PIN.
type Secret struct {
	IDNumber string
	PIN      string
}

// VerifyCard checks that pan and the secret belong to the same card. A
// card that does not exist, a wrong secret and a locked card all give the
// same ENotFound, after the same work (S10). Every try counts against the
// card's lock-out, shared by all channels; the try is reserved before the
// secret is checked, so concurrent tries cannot exceed the limit (T7).
func (b *Bank) VerifyCard(ctx context.Context, pan string, s Secret) (*katong.Card, error) {
	pan, err := katong.NormalizeCard(pan)
	if err != nil {
		return nil, err
	}
	if s.IDNumber != "" {
		if s.IDNumber, err = katong.NormalizeID(s.IDNumber, b.Now()); err != nil {
			return nil, err
		}
	} else if len(s.PIN) != 6 || !digits(s.PIN) {
		return nil, katong.Invalid("pin", "the phone PIN must be 6 digits")
	}
	panMAC := b.Vault.Lookup("pan", pan)
	notFound := katong.Errorf(katong.ENotFound, "card and secret do not match")
	// The lock-out key exists whether or not the card does, so the work
	// is the same on every path.
	if err := b.Auth.Attempt(ctx, "card:"+string(panMAC)); err != nil {
		if katong.ErrorCode(err) == katong.ELocked {
			b.secretWork(pan, s)
			return nil, notFound
		}
		return nil, err
	}
	var card katong.Card
	var idMAC, pinMAC []byte
	err = b.DB.Row(ctx, `SELECT c.id, c.account_id, c.customer_id, c.tail, c.masked, c.product, u.id_hmac, c.pin_hmac
		FROM cards c JOIN customers u ON u.id = c.customer_id WHERE c.pan_hmac = $1`, panMAC).
		Scan(&card.ID, &card.AccountID, &card.CustomerID, &card.Tail, &card.Masked, &card.Product, &idMAC, &pinMAC)
	if errors.Is(err, sql.ErrNoRows) {
		b.secretWork(pan, s)
		return nil, notFound
	} else if err != nil {
		return nil, err
	}
	var want, got []byte
	if s.IDNumber != "" {
		want, got = idMAC, b.Vault.Lookup("id", s.IDNumber)
	} else {
		want, got = pinMAC, b.pinMAC(pan, s.PIN)
	}
	if len(want) == 0 || subtle.ConstantTimeCompare(want, got) != 1 {
		return nil, notFound
	}
	if err := b.Auth.Succeed(ctx, "card:"+string(panMAC)); err != nil {
		return nil, err
	}
	return &card, nil
}

// secretWork does the HMAC a real check does, so a miss takes as long.
func (b *Bank) secretWork(pan string, s Secret) {
	if s.IDNumber != "" {
		b.Vault.Lookup("id", s.IDNumber)
	} else {
		b.pinMAC(pan, s.PIN)
	}
}

// Login checks a customer's mobile number and password and starts a
// session. A wrong mobile, a wrong password and a locked login give the
// same EUnauthorized. newDevice reports a device not seen before; a
// notice then goes to the customer's inbox.
func (b *Bank) Login(ctx context.Context, mobile, password, device string) (tok string, c *katong.Customer, err error) {
	fail := katong.Errorf(katong.EUnauthorized, "wrong mobile number or password")
	m, err := katong.NormalizeMobile(mobile)
	if err != nil {
		return "", nil, err
	}
	if err := b.Auth.Attempt(ctx, "login:"+m); err != nil {
		if katong.ErrorCode(err) == katong.ELocked {
			auth.VerifyPassword("", password)
			return "", nil, err
		}
		return "", nil, err
	}
	var cust katong.Customer
	var hash string
	err = b.DB.Row(ctx, `SELECT id, name, mobile, id_masked, password_hash FROM customers WHERE mobile = $1`, m).
		Scan(&cust.ID, &cust.Name, &cust.Mobile, &cust.IDMasked, &hash)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", nil, err
	}
	if !auth.VerifyPassword(hash, password) {
		return "", nil, fail
	}
	if err := b.Auth.Succeed(ctx, "login:"+m); err != nil {
		return "", nil, err
	}
	tok, err = b.Auth.StartSession(ctx, "customer", int64(cust.ID), device, CustomerSessions)
	if err != nil {
		return "", nil, err
	}
	if device != "" {
		if fresh, err := b.Auth.NewDevice(ctx, "customer", int64(cust.ID), device); err == nil && fresh {
			b.Notify(ctx, cust.ID, "新设备登录提醒 / New device login",
				"您的账户在新设备上登录。如非本人操作，请立即修改密码并联系 "+b.Config.Support+
					"。 / Your account was used on a new device. If it was not you, change your password and call "+b.Config.Support+".")
		}
	}
	return tok, &cust, nil
}

// ChangePassword changes a customer's password after checking the old one,
// and ends every other session.
func (b *Bank) ChangePassword(ctx context.Context, c katong.CustomerID, keep, old, new string) error {
	var hash, mobile string
	if err := b.DB.Row(ctx, `SELECT password_hash, mobile FROM customers WHERE id = $1`, c).Scan(&hash, &mobile); err != nil {
		return katong.Errorf(katong.ENotFound, "no such customer")
	}
	if err := b.Auth.Attempt(ctx, "login:"+mobile); err != nil {
		return err
	}
	if !auth.VerifyPassword(hash, old) {
		return katong.Invalid("old_password", "the current password is wrong")
	}
	b.Auth.Succeed(ctx, "login:"+mobile)
	if err := auth.CheckPassword(new, auth.CustomerMinLen); err != nil {
		return katong.Invalid("new_password", "%s", katong.AsError(err).Message)
	}
	if _, err := b.DB.ExecContext(ctx, `UPDATE customers SET password_hash = $1 WHERE id = $2`, auth.HashPassword(new), c); err != nil {
		return err
	}
	return b.Auth.EndSessions(ctx, "customer", int64(c), keep)
}

// Notice is a message in the customer's inbox.
type Notice struct {
	ID    int64
	At    int64 // Unix microseconds
	Title string
	Body  string
	Read  bool
}

// Notify puts a notice in the customer's inbox.
func (b *Bank) Notify(ctx context.Context, c katong.CustomerID, title, body string) error {
	_, err := b.DB.ExecContext(ctx, `INSERT INTO notices (customer_id, at, title, body) VALUES ($1, $2, $3, $4)`,
		c, b.Now().UnixMicro(), title, body)
	return err
}

// Notices returns the customer's newest notices.
func (b *Bank) Notices(ctx context.Context, c katong.CustomerID) ([]Notice, error) {
	return sqlstore.All(ctx, b.DB, func(r sqlstore.Scanner) (Notice, error) {
		var n Notice
		var read int64
		err := r.Scan(&n.ID, &n.At, &n.Title, &n.Body, &read)
		n.Read = read != 0
		return n, err
	}, `SELECT id, at, title, body, read_at FROM notices WHERE customer_id = $1 ORDER BY id DESC LIMIT 50`, c)
}

// itoa is strconv.FormatInt for ids.
func itoa[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }
