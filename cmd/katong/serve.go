package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"katong"
	"katong/bank"
	"katong/demo"
	"katong/ledger"
	"katong/postgres"
	"katong/secret"
	"katong/sip"
	"katong/sqlite"
	"katong/sqlstore"
	"katong/web"
)

// runServe is `katong serve`.
func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseServeFlags(args, os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	s, err := newServer(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer s.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	s.announce(stdout, ln.Addr().String())
	return s.serve(ctx, ln)
}

// newLogger returns a JSON logger whose every line passes the redactor: no
// card or ID number, and no raw CR/LF, ever reaches the log.
func newLogger(w io.Writer, level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	return slog.New(katong.NewRedactingHandler(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: l})))
}

// server is a running katong process: its banks, its wallet, its channels.
type server struct {
	cfg     *Config
	log     *slog.Logger
	vault   *secret.Vault
	banks   []*bank.Bank
	dbs     []*sqlstore.DB
	mux     *http.ServeMux
	closers []func() error
	purgers []func(context.Context) error // hourly housekeeping
	lines   []sip.Line                    // the banks' phone lines
	sipOn   bool                          // the SIP listener serves the lines
	wg      sync.WaitGroup
	stop    context.CancelFunc
}

func newServer(ctx context.Context, cfg *Config, log *slog.Logger) (_ *server, err error) {
	vault, err := secret.NewVault(cfg.MasterKey)
	if err != nil {
		return nil, err
	}
	bg, stop := context.WithCancel(context.Background())
	s := &server{cfg: cfg, log: log, vault: vault, mux: http.NewServeMux(), stop: stop}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if cfg.Data != "" {
		if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
			return nil, err
		}
	}
	for _, bc := range cfg.Banks {
		if cfg.Role == "bank" && bc.ID != cfg.BankID || cfg.Role == "wallet" {
			continue
		}
		db, err := s.open(ctx, bc.Postgres, bc.ID, sqlstore.BankSchema)
		if err != nil {
			return nil, fmt.Errorf("bank %s: %w", bc.ID, err)
		}
		b, err := bank.New(ctx, bc.Katong(), db, vault, ledger.Options{Log: log})
		if err != nil {
			return nil, fmt.Errorf("bank %s: %w", bc.ID, err)
		}
		s.closers = append(s.closers, b.Ledger.Close)
		if cfg.Demo {
			start := time.Now()
			if err := demo.Seed(ctx, b, time.Now()); err != nil {
				return nil, err
			}
			log.Info("demo bank ready", "bank", bc.ID, "ms", time.Since(start).Milliseconds())
		}
		s.banks = append(s.banks, b)
		if err := s.registerBank(ctx, bc, b); err != nil {
			return nil, fmt.Errorf("bank %s: %w", bc.ID, err)
		}
	}
	if cfg.Role == "all" || cfg.Role == "wallet" {
		db, err := s.open(ctx, cfg.Wallet.Postgres, "wallet", sqlstore.WalletSchema)
		if err != nil {
			return nil, fmt.Errorf("wallet: %w", err)
		}
		if err := s.registerWallet(ctx, db); err != nil {
			return nil, fmt.Errorf("wallet: %w", err)
		}
	}
	if err := s.startSIP(bg); err != nil {
		if !cfg.Demo {
			return nil, err
		}
		// The demo's default SIP port may be taken on a newcomer's machine:
		// every other channel still works, and says so.
		log.Warn("phone line over SIP not started; use --sip ADDR, or katong call", "err", err)
		cfg.SIP.Addr = ""
	}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	s.mux.HandleFunc("GET /readyz", s.handleReady)
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.wg.Add(1)
	go s.housekeep(bg)
	return s, nil
}

// open opens a database: PostgreSQL when a DSN is given, else an SQLite
// file in the data directory.
func (s *server) open(ctx context.Context, dsn, name string, schema sqlstore.Schema) (*sqlstore.DB, error) {
	var db *sqlstore.DB
	var err error
	if dsn != "" {
		db, err = postgres.Open(ctx, dsn, schema)
	} else {
		db, err = sqlite.Open(ctx, filepath.Join(s.cfg.Data, name+".db"), schema, sqlite.Options{})
	}
	if err != nil {
		return nil, err
	}
	s.dbs = append(s.dbs, db)
	return db, nil
}

// handleReady answers 200 when every database answers.
func (s *server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	for _, db := range s.dbs {
		if err := db.PingContext(ctx); err != nil {
			http.Error(w, "database not ready", http.StatusServiceUnavailable)
			return
		}
	}
	fmt.Fprintln(w, "ready")
}

// housekeep purges ended sessions, tokens and codes, and idempotency
// keys past their time to live, hourly. It stops when ctx ends.
func (s *server) housekeep(ctx context.Context) {
	defer s.wg.Done()
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		for _, b := range s.banks {
			if err := b.Auth.Purge(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purge sessions", "bank", b.Config.ID, "err", err)
			}
			if _, err := b.DB.Ledger().PurgeKeys(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purge idempotency keys", "bank", b.Config.ID, "err", err)
			}
		}
		for _, purge := range s.purgers {
			if err := purge(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("purge", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// serve serves HTTP on ln until ctx ends, then shuts down gracefully:
// requests in flight finish, the ledgers commit what they acknowledged.
func (s *server) serve(ctx context.Context, ln net.Listener) error {
	srv := web.NewServer(s.cfg.Addr, web.Middleware(s.log, s.mux), s.log)
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	s.log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close stops the background work and closes every store.
func (s *server) Close() error {
	s.stop()
	s.wg.Wait()
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
	for _, db := range s.dbs {
		db.Close()
	}
	return nil
}

// announce prints where everything is.
func (s *server) announce(w io.Writer, addr string) {
	base := s.cfg.PublicURL
	fmt.Fprintf(w, "Katong %s listening on http://%s\n", Version, addr)
	for _, b := range s.banks {
		id := b.Config.ID
		fmt.Fprintf(w, "  %s %s: bank app %s/banks/%s/app/  teller %s/banks/%s/teller/  open banking %s/banks/%s/open-banking/v4.0/aisp/\n",
			b.Config.Name, id, base, id, base, id, base, id)
	}
	if s.cfg.Role != "bank" {
		fmt.Fprintf(w, "  wallet %s/wallet/\n", base)
	}
	for _, b := range s.banks {
		if s.sipOn && b.Config.Support != "" {
			fmt.Fprintf(w, "  %s phone line sip:%s@%s\n", b.Config.ID, b.Config.Support, s.cfg.SIP.Addr)
		}
		if s.cfg.Demo {
			fmt.Fprintf(w, "  %s phone line from the terminal: katong call --bank %s --server %s --token %s\n",
				b.Config.ID, b.Config.ID, base, demo.TwiMLToken)
		}
	}
	if s.cfg.Demo {
		fmt.Fprint(w, demoText(demo.Info()))
	}
}
