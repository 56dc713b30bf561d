package katong

import "time"

// BankID names a bank of the deployment ("galaxy", "lakeside").
type BankID string

// Bank is a bank's configuration: who it is and the rules it sets.
type Bank struct {
	ID      BankID
	Name    string   // 星河银行
	NameEN  string   // Galaxy Bank
	BINs    []string // card number prefixes it issues
	Support string   // support phone number, e.g. 95500
	Colour  string   // card tile colour, CSS hex
	Limits  Limits
}

// Limits are a bank's per-card balance query limits, per channel. A zero
// Rate means unlimited.
type Limits struct {
	App     Rate // bank app
	Wallet  Rate // Open Banking AIS clients
	Phone   Rate
	Counter Rate
}

// Rate allows N events per Per.
type Rate struct {
	N   int
	Per time.Duration
}

// Channel is where a balance query came from.
type Channel string

const (
	ChannelApp     Channel = "app"
	ChannelWallet  Channel = "wallet"
	ChannelCounter Channel = "counter"
	ChannelPhone   Channel = "phone"
)

// AccountID identifies an account within its bank.
type AccountID int64

// AccountKind separates customers' deposit accounts from the bank's own.
type AccountKind string

const (
	KindCustomer   AccountKind = "customer"
	KindCash       AccountKind = "cash"       // cash and vault
	KindSettlement AccountKind = "settlement" // wallet settlement
	KindFees       AccountKind = "fees"       // fee income
	KindClearing   AccountKind = "clearing"   // salaries and transfers from outside
)

// AccountStatus is the state of an account.
type AccountStatus string

const (
	StatusActive AccountStatus = "active"
	StatusFrozen AccountStatus = "frozen"
	StatusClosed AccountStatus = "closed"
)

// Account is a CNY account in a bank's ledger. Customer accounts may not
// go below zero available; the bank's own accounts may.
type Account struct {
	ID           AccountID
	Kind         AccountKind
	CustomerID   CustomerID // 0 for the bank's own accounts
	Name         string
	Status       AccountStatus
	FreezeReason string
	Booked       Amount // sum of all postings
	Held         Amount // sum of active holds
	OpenedAt     time.Time
	UpdatedAt    time.Time
}

// Available is what can be spent: booked less holds.
func (a *Account) Available() Amount { return a.Booked - a.Held }

// Balance is the answer to a balance query.
type Balance struct {
	AccountID AccountID
	Available Amount
	Booked    Amount
	AsOf      time.Time
}

// CustomerID identifies a customer within their bank.
type CustomerID int64

// Customer is a bank customer. The ID number is held only sealed.
type Customer struct {
	ID       CustomerID
	Name     string
	Mobile   string // E.164
	IDMasked string // 110***********1234
}

// CardID identifies a card within its bank; it is opaque and safe in URLs.
type CardID int64

// Card is a debit card bound to an account. The card number is held only
// sealed; Tail is its last four digits.
type Card struct {
	ID         CardID
	AccountID  AccountID
	CustomerID CustomerID
	Tail       string
	Masked     string // 6222 **** **** 7894
	Product    string // 储蓄卡
}

// TxnKind is what a ledger transaction did.
type TxnKind string

const (
	TxnDeposit    TxnKind = "deposit"
	TxnWithdrawal TxnKind = "withdrawal"
	TxnPayment    TxnKind = "wallet_payment"
	TxnRefund     TxnKind = "refund"
	TxnTransfer   TxnKind = "transfer"
	TxnFee        TxnKind = "fee"
	TxnSalary     TxnKind = "salary"
	TxnHold       TxnKind = "hold"
	TxnCapture    TxnKind = "capture"
	TxnRelease    TxnKind = "release"
)

var txnText = map[TxnKind][2]string{
	TxnDeposit:    {"现金存入", "Cash deposit"},
	TxnWithdrawal: {"现金支取", "Cash withdrawal"},
	TxnPayment:    {"钱包支付", "Wallet payment"},
	TxnRefund:     {"退款", "Refund"},
	TxnTransfer:   {"转账", "Transfer"},
	TxnFee:        {"手续费", "Fee"},
	TxnSalary:     {"工资", "Salary"},
	TxnHold:       {"预授权", "Authorisation"},
	TxnCapture:    {"预授权完成", "Capture"},
	TxnRelease:    {"预授权撤销", "Release"},
}

// Text names the kind in the language.
func (k TxnKind) Text(lang Lang) string {
	t, ok := txnText[k]
	if !ok {
		return string(k)
	}
	if lang == EN {
		return t[1]
	}
	return t[0]
}

// Entry is one posting of a transaction on one account, with the
// account's booked balance right after it.
type Entry struct {
	ID           int64
	TxnID        int64
	AccountID    AccountID
	Kind         TxnKind
	Amount       Amount // signed: credit > 0, debit < 0
	BalanceAfter Amount
	Memo         string
	At           time.Time
}

// HoldStatus is the state of a hold.
type HoldStatus string

const (
	HoldActive   HoldStatus = "active"
	HoldCaptured HoldStatus = "captured"
	HoldReleased HoldStatus = "released"
)

// Hold reserves part of an account's available balance for a pending
// payment until it is captured or released.
type Hold struct {
	ID        int64
	AccountID AccountID
	Amount    Amount
	Status    HoldStatus
	Memo      string
	At        time.Time
}

// EntryFilter selects a page of an account's history, newest first.
type EntryFilter struct {
	From   *time.Time // inclusive
	To     *time.Time // exclusive
	Before int64      // cursor: entries with ID < Before; 0 for the newest
	Limit  int
}

// Shanghai is the time zone every person-facing time is shown in.
var Shanghai = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()
