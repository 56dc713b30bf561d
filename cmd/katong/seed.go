package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"katong"
	"katong/bank"
	"katong/demo"
	"katong/ledger"
	"katong/postgres"
	"katong/secret"
	"katong/sqlite"
	"katong/sqlstore"
)

// runSeed is `katong seed`: a large synthetic bank for load tests. It
// writes <data>/katong.json, the configuration to serve it with.
func runSeed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed", flag.ContinueOnError)
	n := fs.Int("customers", 10000, "customers to create, each with one account and card")
	data := fs.String("data", "katong-load", "directory of the SQLite files and the generated configuration")
	dsn := fs.String("postgres", "", "PostgreSQL DSN of the bank's database (default: SQLite in --data)")
	bankID := fs.String("bank", "galaxy", "which demo bank's configuration to use")
	opening := fs.Int64("opening", 100000, "opening deposit of each account, in fen")
	quiet := fs.Bool("quiet", false, "no progress bar")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *n < 1 || *n > 10_000_000 {
		return fmt.Errorf("--customers must be between 1 and 10,000,000")
	}
	var bc *BankConfig
	cfg := &Config{}
	demoConfig(cfg)
	cfg.Demo, cfg.Addr, cfg.Role, cfg.SIP.Addr = false, "127.0.0.1:8080", "all", ""
	for i := range cfg.Banks {
		cfg.Banks[i].AppPerMinute, cfg.Banks[i].WalletPerMinute, cfg.Banks[i].PhonePerMinute = 0, 0, 0
		if cfg.Banks[i].ID == *bankID {
			bc = &cfg.Banks[i]
		}
	}
	if bc == nil {
		return fmt.Errorf("no demo bank %q", *bankID)
	}
	cfg.Banks = []BankConfig{*bc}
	bc = &cfg.Banks[0]
	bc.Postgres = *dsn
	abs, err := filepath.Abs(*data)
	if err != nil {
		return err
	}
	cfg.Data = abs
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return err
	}
	var db *sqlstore.DB
	if *dsn != "" {
		db, err = postgres.Open(ctx, *dsn, sqlstore.BankSchema)
	} else {
		db, err = sqlite.Open(ctx, filepath.Join(abs, bc.ID+".db"), sqlstore.BankSchema, sqlite.Options{})
	}
	if err != nil {
		return err
	}
	defer db.Close()
	vault, err := secret.NewVault(cfg.MasterKey)
	if err != nil {
		return err
	}
	b, err := bank.New(ctx, bc.Katong(), db, vault, ledger.Options{MaxBatch: 512})
	if err != nil {
		return err
	}
	defer b.Ledger.Close()
	var bar *progressbar.ProgressBar
	if !*quiet {
		bar = progressbar.NewOptions(*n, progressbar.OptionSetWriter(stderr), progressbar.OptionSetDescription("seeding"),
			progressbar.OptionShowCount(), progressbar.OptionThrottle(100*time.Millisecond))
	}
	var first, last int64
	start := time.Now()
	for done := 0; done < *n; {
		size := min(1000, *n-done)
		people := make([]bank.Synthetic, size)
		for i := range people {
			k := done + i
			people[i] = bank.Synthetic{Name: fmt.Sprintf("客户%07d", k), Mobile: fmt.Sprintf("+86139%08d", k%100000000),
				IDNumber: syntheticID(k), PAN: syntheticPAN(bc.BINs[0], k)}
		}
		ids, err := b.BulkOpen(ctx, people)
		if err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if err := b.Fund(ctx, "seed", ids, katong.Amount(*opening)); err != nil {
			return fmt.Errorf("seed: %w", err)
		}
		if first == 0 {
			first = int64(ids[0])
		}
		last = int64(ids[len(ids)-1])
		done += size
		if bar != nil {
			bar.Add(size)
		}
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(stderr)
	}
	conf := filepath.Join(abs, "katong.json")
	out, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(conf, out, 0o600); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "seeded %d customers (accounts %d–%d) in %s\nserve it:  katong serve --config %s\nload it:   katong load --url http://127.0.0.1:8080/banks/%s --key %s --accounts %d-%d\n",
		*n, first, last, time.Since(start).Round(time.Millisecond), conf, bc.ID, demo.LedgerKey, first, last)
	return nil
}

// syntheticID makes the k-th valid resident ID number: a birth date and a
// sequence number that no other k shares.
func syntheticID(k int) string {
	birth := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, k/1000)
	body := fmt.Sprintf("110105%s%03d", birth.Format("20060102"), k%1000)
	w := []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}
	s := 0
	for i := 0; i < 17; i++ {
		s += int(body[i]-'0') * w[i]
	}
	return body + string("10X98765432"[s%11])
}

// syntheticPAN makes the k-th Luhn-valid 16-digit number under the BIN.
func syntheticPAN(bin string, k int) string {
	b := []byte(fmt.Sprintf("%s%0*d", bin, 15-len(bin), k))
	sum := 0
	for i := len(b) - 1; i >= 0; i-- {
		d := int(b[i] - '0')
		if (len(b)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return string(append(b, byte('0'+(10-sum%10)%10)))
}
