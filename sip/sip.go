// Package sip answers the phone line over SIP: calls on UDP (e.g.
// sip:95500@127.0.0.1:5060, the number dialled choosing the bank) are
// answered with github.com/emiago/diago and driven by the ivr engine.
// Prompts are played as G.711 from the clip set, with silence sent
// between them; keys arrive as RFC 4733 telephone events (read by our own
// detector on the RTP packets) or as SIP INFO; a key stops the prompt
// playing (barge-in); 0 transfers to an agent by REFER; a BYE ends the
// call. No key, card number or secret is ever logged.
//
// To hear it with a softphone, with the line on 127.0.0.1:5060: a baresip
// config with sip_listen 127.0.0.1:5080, net_interface 127.0.0.1 and the
// modules g711, alsa, account and menu, the account
// <sip:13800138000@127.0.0.1>;regint=0;audio_codecs=PCMU, then
// "/dial sip:95500@127.0.0.1:5060" and the keys.
package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"katong"
	"katong/ivr"
	"katong/ivr/prompts"
)

// Config is the SIP listener.
type Config struct {
	// Addr is the UDP host:port to listen on, "127.0.0.1:5060". The host
	// is also the address put in SDP for media.
	Addr string
	// Numbers maps a dialled number (the user part of the request URI)
	// to a line's bank. A number equal to a bank's id or to its support
	// number reaches that bank without an entry.
	Numbers map[string]katong.BankID
	// KeyBuffer is how many keys a call holds before the line takes them;
	// more are dropped (and counted). 64.
	KeyBuffer int
}

// Line is a bank's line on the listener.
type Line struct {
	Bank    katong.BankID
	IVR     *ivr.Line
	Prompts *prompts.Set
}

// Stats count the listener's calls, for tests and metrics.
type Stats struct {
	Active      int64 // calls now
	Calls       int64 // calls answered
	Keys        int64 // keys taken, by RFC 4733 or SIP INFO
	KeysDropped int64 // keys lost: the call's buffer was full, or an event's End packets never came
}

// Server is the SIP listener of the phone lines.
type Server struct {
	cfg   Config
	lines map[katong.BankID]*Line
	log   *slog.Logger

	mu     sync.Mutex
	calls  map[string]*call // by dialog id
	ua     *sipgo.UserAgent
	dg     *diago.Diago
	cancel context.CancelFunc
	wg     sync.WaitGroup

	total, keys, dropped atomic.Int64
}

// New returns the listener of the lines; Start starts it.
func New(cfg Config, lines []Line, log *slog.Logger) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if cfg.KeyBuffer <= 0 {
		cfg.KeyBuffer = 64
	}
	if _, _, err := splitAddr(cfg.Addr); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, lines: map[katong.BankID]*Line{}, log: log.With("channel", "sip"), calls: map[string]*call{}}
	for i := range lines {
		l := lines[i]
		if l.IVR == nil || l.Prompts == nil {
			return nil, fmt.Errorf("sip: line %s has no IVR or prompts", l.Bank)
		}
		s.lines[l.Bank] = &l
	}
	for n, b := range cfg.Numbers {
		if s.lines[b] == nil {
			return nil, fmt.Errorf("sip: number %s goes to %s, which has no line", n, b)
		}
	}
	return s, nil
}

func splitAddr(addr string) (string, int, error) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("sip: listen address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("sip: listen address %q: bad port", addr)
	}
	if host == "" {
		host = "0.0.0.0"
	}
	return host, port, nil
}

// Start listens and answers calls until Close (or ctx ends). It returns
// once the listener is up, or why it could not be.
func (s *Server) Start(ctx context.Context) error {
	host, port, _ := splitAddr(s.cfg.Addr)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("katong"))
	if err != nil {
		return fmt.Errorf("sip: %w", err)
	}
	// diago logs SIP traffic at debug level; keys travel in SIP INFO
	// bodies, so nothing below info reaches the log. Its media package
	// has one logger for the process, which warns of every retransmitted
	// RFC 4733 End packet: it gets errors only.
	lib := slog.New(minLevel{s.log.Handler(), slog.LevelInfo})
	mediaLogger.Do(func() { media.SetDefaultLogger(slog.New(minLevel{s.log.Handler(), slog.LevelError})) })
	s.dg = diago.NewDiago(ua,
		diago.WithTransport(diago.Transport{Transport: "udp", BindHost: host, BindPort: port}),
		diago.WithLogger(lib),
		diago.WithServerRequestMiddleware(s.middleware))
	ctx, cancel := context.WithCancel(ctx)
	if err := s.dg.ServeBackground(ctx, s.handle); err != nil {
		cancel()
		ua.Close()
		return fmt.Errorf("sip: listen %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.ua, s.cancel = ua, cancel
	s.mu.Unlock()
	s.log.Info("sip listening", "addr", s.cfg.Addr)
	return nil
}

// Close stops listening, hangs up the calls in progress and waits for
// them to end (at most 15 s).
func (s *Server) Close() error {
	s.mu.Lock()
	cancel, ua := s.cancel, s.ua
	s.cancel = nil
	for _, c := range s.calls {
		c.cancel()
	}
	s.mu.Unlock()
	if cancel == nil {
		return nil
	}
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		s.log.Warn("sip calls still ending at close")
	}
	cancel()
	return ua.Close()
}

// Addr is the address the listener was given.
func (s *Server) Addr() string { return s.cfg.Addr }

// Stats returns the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	active := int64(len(s.calls))
	s.mu.Unlock()
	return Stats{Active: active, Calls: s.total.Load(), Keys: s.keys.Load(), KeysDropped: s.dropped.Load()}
}

// route finds the line a number reaches.
func (s *Server) route(user string) *Line {
	if b, ok := s.cfg.Numbers[user]; ok {
		return s.lines[b]
	}
	if l := s.lines[katong.BankID(user)]; l != nil {
		return l
	}
	for _, l := range s.lines {
		if sup := l.IVR.Config().Support; sup != "" && sup == user {
			return l
		}
	}
	return nil
}

// middleware takes keys sent by SIP INFO, which diago would refuse.
func (s *Server) middleware(next sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sipmsg.Request, tx sipmsg.ServerTransaction) {
		if req.Method != sipmsg.INFO {
			next(req, tx)
			return
		}
		ct := req.ContentType()
		if ct == nil || !isDTMFInfo(ct.Value()) {
			next(req, tx)
			return
		}
		id, err := sipmsg.DialogIDFromRequestUAS(req)
		s.mu.Lock()
		c := s.calls[id]
		s.mu.Unlock()
		if err != nil || c == nil {
			tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist", nil))
			return
		}
		k, ok := infoKey(ct.Value(), req.Body())
		if !ok {
			tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusBadRequest, "Bad Request", nil))
			return
		}
		// The key is taken before the 200 OK: a phone that waits for the
		// answer before the next INFO has its keys taken in order.
		c.key(k)
		tx.Respond(sipmsg.NewResponseFromRequest(req, sipmsg.StatusOK, "OK", nil))
	}
}

// minLevel drops records below a level.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

func (m minLevel) WithAttrs(a []slog.Attr) slog.Handler {
	return minLevel{m.Handler.WithAttrs(a), m.min}
}

func (m minLevel) WithGroup(g string) slog.Handler { return minLevel{m.Handler.WithGroup(g), m.min} }

// agentURI is where a transfer goes: a SIP URI as it is, a number at
// the host the caller called.
func agentURI(target, host string) (sipmsg.Uri, error) {
	var u sipmsg.Uri
	if !strings.HasPrefix(target, "sip:") && !strings.HasPrefix(target, "sips:") {
		target = "sip:" + target + "@" + host
	}
	if err := sipmsg.ParseUri(target, &u); err != nil {
		return u, fmt.Errorf("sip: agent %q: %w", target, err)
	}
	return u, nil
}

var errNoLine = errors.New("no line at this number")

// mediaLogger sets diago's process-wide media logger once.
var mediaLogger sync.Once
