package sip_test

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	"github.com/emiago/sipgo"
	sipmsg "github.com/emiago/sipgo/sip"

	"katong"
	"katong/bank"
	"katong/banktest"
	"katong/ivr"
	"katong/ivr/prompts"
	"katong/ivr/prompts/promptstest"
	"katong/sip"
	"katong/testkit"
)

// freePort returns a UDP port free on loopback now.
func freePort(t testing.TB) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// line is a bank's phone line answering SIP on loopback.
type line struct {
	w       *banktest.World
	srv     *sip.Server
	port    int
	prompts *prompts.Set
	cfg     ivr.Config
	log     *testkit.SyncBuffer
}

func newLine(t testing.TB, set *prompts.Set, edit func(*ivr.Config)) *line {
	t.Helper()
	w := banktest.New(t)
	cfg := ivr.DefaultConfig(w.Bank.Config)
	if edit != nil {
		edit(&cfg)
	}
	if set == nil {
		var err error
		if set, err = prompts.Load(""); err != nil {
			t.Fatal(err)
		}
	}
	l := &line{w: w, port: freePort(t), prompts: set, cfg: cfg, log: &testkit.SyncBuffer{}}
	log := slog.New(slog.NewTextHandler(l.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv, err := sip.New(sip.Config{Addr: "127.0.0.1:" + strconv.Itoa(l.port), Numbers: map[string]katong.BankID{"95588": "galaxy"}},
		[]sip.Line{{Bank: "galaxy", IVR: ivr.New(cfg, w.Bank, nil), Prompts: set}}, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	l.srv = srv
	return l
}

// checkLog fails if the server's log holds anything typed.
func (l *line) checkLog(t testing.TB) {
	t.Helper()
	s := l.log.String()
	for _, secret := range []string{l.w.Alice.PAN, l.w.Bob.PAN, "1234567894", "11010519491231002", l.w.Bob.PIN, "Signal=", "13800138000"} {
		if strings.Contains(s, secret) {
			t.Fatalf("server log holds %q:\n%s", secret, s)
		}
	}
}

// balanceClips are the clips the line says for a balance: found by
// running the same engine against a bank that knows one card.
func balanceClips(t testing.TB, cfg ivr.Config, tail string, fen katong.Amount) []string {
	t.Helper()
	ctx := context.Background()
	c := ivr.New(cfg, fixedBank{tail, fen}, nil).Call("", "")
	c.Start()
	var acts []ivr.Action
	for _, k := range "16222021234567894#123456#" {
		if a := c.Key(ctx, k); a != nil {
			acts = a
		}
	}
	if len(acts) == 0 || acts[0].Kind != ivr.Say {
		t.Fatalf("no balance said: %v", acts)
	}
	return acts[0].Clips
}

type fixedBank struct {
	tail string
	fen  katong.Amount
}

func (f fixedBank) VerifyCard(context.Context, string, bank.Secret) (*katong.Card, error) {
	return &katong.Card{Tail: f.tail}, nil
}

// AuditCardCheck keeps nothing: this test does not read the audit log.
func (fixedBank) AuditCardCheck(context.Context, katong.Channel, string, string, string, katong.Code) error {
	return nil
}

func (f fixedBank) Balance(context.Context, bank.Query) (*katong.Balance, error) {
	return &katong.Balance{Available: f.fen, Booked: f.fen}, nil
}

// phone is a diago caller on loopback that records what it hears.
type phone struct {
	t       testing.TB
	ua      *sipgo.UserAgent
	dialog  *diago.DialogClientSession
	med     *diago.DialogMedia
	dtmf    *diago.DTMFWriter
	mu      sync.Mutex
	rec     []int16
	packets int
	done    chan struct{}
	referTo chan string
}

// dial calls the line at user from 13800138000.
func dial(t testing.TB, l *line, user string) (*phone, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("13800138000"))
	if err != nil {
		t.Fatal(err)
	}
	p := &phone{t: t, ua: ua, done: make(chan struct{}), referTo: make(chan string, 1)}
	t.Cleanup(func() { ua.Close() })
	dg := diago.NewDiago(ua, diago.WithTransport(diago.Transport{Transport: "udp", BindHost: "127.0.0.1", BindPort: freePort(t)}),
		diago.WithLogger(slog.New(slog.DiscardHandler)))
	sctx, scancel := context.WithCancel(context.Background())
	t.Cleanup(scancel)
	if err := dg.ServeBackground(sctx, func(*diago.DialogServerSession) {}); err != nil {
		t.Fatal(err)
	}
	d, err := dg.NewDialog(sipmsg.Uri{User: user, Host: "127.0.0.1", Port: l.port}, diago.NewDialogOptions{})
	if err != nil {
		t.Fatal(err)
	}
	med, err := d.Invite(ctx, diago.InviteClientOptions{OnRefer: func(rd *diago.DialogClientSession) error {
		p.referTo <- rd.InviteRequest.Recipient.String()
		return errors.New("the agent is not called in tests")
	}})
	if err != nil {
		d.Close()
		return nil, err
	}
	if err := d.Ack(ctx); err != nil {
		t.Fatal(err)
	}
	p.dialog, p.med = d, med
	t.Cleanup(func() {
		hctx, hcancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer hcancel()
		d.Hangup(hctx)
		d.Close()
	})
	if p.dtmf, err = med.AudioWriterDTMF(); err != nil {
		t.Fatal(err)
	}
	go p.record()
	return p, nil
}

// record decodes what the caller hears until the call ends.
func (p *phone) record() {
	defer close(p.done)
	r := p.med.RTPPacketReader
	buf := make([]byte, media.RTPBufSize)
	pcm := make([]byte, 2*media.RTPBufSize)
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		var m int
		switch r.PacketHeader.PayloadType {
		case 0:
			m, _ = audio.DecodeUlawTo(pcm, buf[:n])
		case 8:
			m, _ = audio.DecodeAlawTo(pcm, buf[:n])
		default:
			continue
		}
		p.mu.Lock()
		p.rec = append(p.rec, promptstest.Samples(pcm[:m])...)
		p.packets++
		p.mu.Unlock()
	}
}

func (p *phone) recording() []int16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]int16(nil), p.rec...)
}

// press sends keys by RFC 4733 (about 140 ms each).
func (p *phone) press(keys string) {
	p.t.Helper()
	for _, k := range keys {
		if err := p.dtmf.WriteDTMF(k); err != nil {
			p.t.Fatal(err)
		}
	}
}

// info sends keys by SIP INFO.
func (p *phone) info(keys string) {
	p.t.Helper()
	for _, k := range keys {
		req := sipmsg.NewRequest(sipmsg.INFO, p.dialog.InviteResponse.Contact().Address)
		req.AppendHeader(sipmsg.NewHeader("Content-Type", "application/dtmf-relay"))
		req.SetBody([]byte("Signal=" + string(k) + "\r\nDuration=160\r\n"))
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		res, err := p.dialog.Do(ctx, req)
		cancel()
		if err != nil || res.StatusCode != 200 {
			p.t.Fatalf("INFO %c: %v %v", k, res, err)
		}
	}
}

// hear waits until the caller has heard the clips, or fails.
func (p *phone) hear(set *prompts.Set, clips []string, within time.Duration) int {
	p.t.Helper()
	want, err := promptstest.Clips(set, clips)
	if err != nil {
		p.t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for {
		rec := p.recording()
		if off, score := promptstest.Find(rec, want); score > 0.9 {
			return off
		}
		if time.Now().After(deadline) {
			_, score := promptstest.Find(rec, want)
			p.t.Fatalf("did not hear %v within %s (best match %.2f in %.1f s of audio)", clips, within, score, float64(len(rec))/8000)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// hearStart waits until the caller has heard the first secs of a clip.
func (p *phone) hearStart(set *prompts.Set, clip string, secs float64, within time.Duration) {
	p.t.Helper()
	pcm, err := set.PCM([]string{clip})
	if err != nil {
		p.t.Fatal(err)
	}
	if n := 2 * int(secs*prompts.SampleRate); n < len(pcm) {
		pcm = pcm[:n]
	}
	want := promptstest.Samples(pcm)
	deadline := time.Now().Add(within)
	for {
		if _, score := promptstest.Find(p.recording(), want); score > 0.9 {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("did not hear the start of %s within %s", clip, within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// silence waits for n packets of silence after those heard so far: the
// line keeps sending while it waits for keys.
func (p *phone) silence(n int, within time.Duration) {
	p.t.Helper()
	p.mu.Lock()
	from, at := p.packets, len(p.rec)
	p.mu.Unlock()
	deadline := time.Now().Add(within)
	for {
		p.mu.Lock()
		got, rec := p.packets-from, p.rec[at:]
		p.mu.Unlock()
		if got >= n {
			for _, v := range rec {
				if v > 200 || v < -200 {
					p.t.Fatalf("sound while the line waits for keys")
				}
			}
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("%d packets while the line waits; want %d of silence", got, n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hungUp waits for the line to end the call.
func (p *phone) hungUp(within time.Duration) bool {
	select {
	case <-p.dialog.Context().Done():
		return true
	case <-time.After(within):
		return false
	}
}

// tones is a clip set of short tones, one pitch per clip, so that calls
// run fast and every clip is told apart.
func tones(t testing.TB) *prompts.Set {
	t.Helper()
	dir := t.TempDir()
	for i, c := range ivr.Clips() {
		n := 400 // 50 ms
		pcm := make([]byte, 2*n)
		hz := 300 + 37*float64(i)
		for j := 0; j < n; j++ {
			binary.LittleEndian.PutUint16(pcm[2*j:], uint16(int16(6000*math.Sin(2*math.Pi*hz*float64(j)/8000))))
		}
		p := filepath.Join(dir, filepath.FromSlash(c.Name)+".wav")
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, prompts.WAV(pcm), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	s, err := prompts.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
