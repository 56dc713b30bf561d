// Package demo builds the fixed, deterministic demo world of
// `katong serve --demo`: two banks with their own card prefixes, a dozen
// customers with cards and about a year of history (salaries, wallet
// payments, ATM withdrawals, transfers, a refund, a pending hold), one
// frozen account and one card close to zero, plus staff and wallet users.
// The same identities come out of Info, so people and scripts can log in.
package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"katong"
)

// MasterKey is the demo's vault key. It is public: never use it for real data.
const MasterKey = "64656d6f206b6579206f6e6c793a206e6576657220666f72207265616c206461"

// LedgerKey opens the demo banks' back-office ledger API.
const LedgerKey = "demo-ledger-key"

// TwiMLToken is the demo phone line's webhook auth token.
const TwiMLToken = "demo-twiml-token"

// Banks are the demo banks.
func Banks() []katong.Bank {
	limits := katong.Limits{App: katong.Rate{N: 30, Per: time.Minute}, Wallet: katong.Rate{N: 60, Per: time.Minute},
		Phone: katong.Rate{N: 10, Per: time.Minute}}
	return []katong.Bank{
		{ID: "galaxy", Name: "星河银行", NameEN: "Galaxy Bank", BINs: []string{"622202", "622208"}, Support: "95500",
			Colour: "#1d4ed8", Limits: limits},
		{ID: "lakeside", Name: "湖畔银行", NameEN: "Lakeside Bank", BINs: []string{"621700", "621799"}, Support: "95566",
			Colour: "#047857", Limits: limits},
	}
}

// Customer is a demo customer with every secret a person needs.
type Customer struct {
	Bank     katong.BankID `json:"bank"`
	Name     string        `json:"name"`
	Mobile   string        `json:"mobile"`
	Password string        `json:"password"`
	IDNumber string        `json:"id_number"`
	Cards    []Card        `json:"cards"`
	Note     string        `json:"note,omitempty"`
}

// Card is a demo card.
type Card struct {
	Number  string `json:"number"`
	PIN     string `json:"phone_pin"`
	Opening int64  `json:"-"` // fen on the first day
	Salary  int64  `json:"-"` // monthly salary in fen, 0 for none
	Frozen  bool   `json:"frozen,omitempty"`
	Low     bool   `json:"low,omitempty"` // close to zero
}

// Staff is a demo teller or supervisor.
type Staff struct {
	Bank     katong.BankID `json:"bank"`
	Username string        `json:"username"`
	Password string        `json:"password"`
	Role     string        `json:"role"`
	Branch   string        `json:"branch"`
}

// WalletUser is a demo wallet user.
type WalletUser struct {
	Mobile   string `json:"mobile"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

// World is every demo identity.
type World struct {
	Customers   []Customer   `json:"customers"`
	Staff       []Staff      `json:"staff"`
	WalletUsers []WalletUser `json:"wallet_users"`
}

var surnames = []string{"张", "王", "李", "赵", "陈", "刘", "杨", "黄", "周", "吴", "徐", "孙"}
var givens = []string{"伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛"}

// provinces are the 6-digit area codes used for demo ID numbers.
var areas = []string{"110105", "310115", "440304", "330106", "510107", "420102"}

// Info returns the demo world. It is the same on every call and machine.
func Info() *World {
	r := rand.New(rand.NewPCG(2026, 1126))
	w := &World{}
	banks := Banks()
	for i := 0; i < 12; i++ {
		b := banks[i%2]
		birth := time.Date(1970+r.IntN(30), time.Month(1+r.IntN(12)), 1+r.IntN(28), 0, 0, 0, 0, time.UTC)
		c := Customer{
			Bank:     b.ID,
			Name:     surnames[i] + givens[(i*5)%len(givens)],
			Mobile:   fmt.Sprintf("+86138%08d", 100000+i*1111),
			Password: fmt.Sprintf("demo-pass-%02d", i+1),
			IDNumber: idNumber(areas[i%len(areas)]+birth.Format("20060102")+fmt.Sprintf("%03d", 100+r.IntN(900)), r),
		}
		n := 1 + i%3/2 // customers 2, 5, 8, 11 have two cards
		for j := 0; j < n; j++ {
			card := Card{
				Number:  cardNumber(b.BINs[j%len(b.BINs)], 16+(i+j)%2*3, r),
				PIN:     fmt.Sprintf("%06d", r.IntN(1000000)),
				Opening: int64(200000 + r.IntN(3000000)),
				Salary:  int64(800000 + r.IntN(1500000)),
			}
			if j > 0 {
				card.Salary = 0
			}
			c.Cards = append(c.Cards, card)
		}
		switch i {
		case 3:
			c.Cards[0].Frozen = true
			c.Note = "frozen for abnormal transactions"
		case 4:
			c.Cards[0].Low = true
			c.Cards[0].Opening, c.Cards[0].Salary = 12000, 0
			c.Note = "balance close to zero"
		}
		w.Customers = append(w.Customers, c)
	}
	for _, b := range banks {
		w.Staff = append(w.Staff,
			Staff{Bank: b.ID, Username: "teller1", Password: "teller-demo-2026", Role: "teller", Branch: "总行营业部"},
			Staff{Bank: b.ID, Username: "super1", Password: "super-demo-2026", Role: "supervisor", Branch: "总行营业部"})
	}
	for _, c := range w.Customers[:4] {
		w.WalletUsers = append(w.WalletUsers, WalletUser{Mobile: c.Mobile, Password: "wallet-" + c.Password, Name: c.Name})
	}
	return w
}

// idNumber completes 17 digits with the GB 11643 check character.
func idNumber(body string, _ *rand.Rand) string {
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := 0; i < 17; i++ {
		s += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[s%11])
}

// cardNumber makes a Luhn-valid number of n digits starting with bin.
func cardNumber(bin string, n int, r *rand.Rand) string {
	b := []byte(bin)
	for len(b) < n-1 {
		b = append(b, byte('0'+r.IntN(10)))
	}
	for d := byte('0'); d <= '9'; d++ {
		if katong.Luhn(string(append(b, d))) {
			return string(append(b, d))
		}
	}
	panic("unreachable")
}
