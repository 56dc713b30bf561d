package sip

import (
	"context"
	"log/slog"
	"time"

	"github.com/emiago/diago"
	"github.com/emiago/diago/audio"
	"github.com/emiago/diago/media"
	sipmsg "github.com/emiago/sipgo/sip"

	"katong"
	"katong/ivr"
)

// call is one answered call.
type call struct {
	s      *Server
	line   *Line
	d      *diago.DialogServerSession
	med    *diago.DialogMedia
	ivr    *ivr.Call
	player *player
	keys   chan rune
	cancel context.CancelFunc
	log    *slog.Logger
}

// handle answers a call and runs it to its end; diago hangs up (BYE)
// when it returns.
func (s *Server) handle(d *diago.DialogServerSession) {
	user := d.InviteRequest.Recipient.User
	if user == "" {
		user = d.ToUser()
	}
	line := s.route(user)
	if line == nil {
		s.log.Info("sip call refused", "to", user, "err", errNoLine)
		d.Respond(sipmsg.StatusNotFound, "Not Found", nil)
		return
	}
	s.mu.Lock()
	if s.cancel == nil && s.ua != nil { // closing
		s.mu.Unlock()
		d.Respond(sipmsg.StatusServiceUnavailable, "Service Unavailable", nil)
		return
	}
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()

	callID := ""
	if h := d.InviteRequest.CallID(); h != nil {
		callID = h.Value()
	}
	log := s.log.With("bank", string(line.Bank), "call_id", callID)
	d.Trying()
	med, err := d.Answer(diago.AnswerOptions{})
	if err != nil {
		log.Warn("sip answer failed", "err", err)
		return
	}
	codec := media.CodecAudioFromSession(med.MediaSession())
	encode := audio.EncodeUlawTo
	if codec.PayloadType == 8 {
		encode = audio.EncodeAlawTo
	}
	w, err := med.AudioWriter()
	if err != nil {
		log.Warn("sip media", "err", err)
		return
	}
	ctx, cancel := context.WithCancel(d.Context())
	defer cancel()
	c := &call{s: s, line: line, d: d, med: med, player: newPlayer(w, encode),
		keys: make(chan rune, s.cfg.KeyBuffer), cancel: cancel, log: log,
		ivr: line.IVR.Call(d.FromUser(), "sip call "+callID)}
	s.mu.Lock()
	s.calls[d.ID] = c
	s.mu.Unlock()
	s.total.Add(1)
	start := time.Now()
	log.Info("sip call", "from", katong.MaskMobile(d.FromUser()), "codec", codec.Name)
	defer func() {
		s.mu.Lock()
		delete(s.calls, d.ID)
		s.mu.Unlock()
		log.Info("sip call ended", "secs", int(time.Since(start).Seconds()))
	}()

	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := c.player.run(ctx); err != nil && ctx.Err() == nil {
			log.Info("sip media ended", "err", err)
			cancel()
		}
	}()
	go func() {
		defer s.wg.Done()
		c.listen(ctx)
	}()
	c.run(ctx)
}

// key takes a key from RTP or SIP INFO; a full buffer drops it.
func (c *call) key(k rune) {
	select {
	case c.keys <- k:
		c.s.keys.Add(1)
	default:
		c.s.dropped.Add(1)
	}
}

// listen reads the caller's RTP for telephone events until the media
// closes (or ctx ends: it stops reading then).
func (c *call) listen(ctx context.Context) {
	var pt uint8
	var dtmf bool
	for _, codec := range c.med.MediaSession().CommonCodecs() {
		if codec.Matches(media.CodecTelephoneEvent8000) {
			pt, dtmf = codec.PayloadTypeRecv(), true
		}
	}
	stop := context.AfterFunc(ctx, func() { c.med.StopRTP(1, 0) })
	defer stop()
	r := c.med.RTPPacketReader
	buf := make([]byte, media.RTPBufSize)
	var det detector
	for {
		n, err := r.Read(buf)
		if err != nil {
			return
		}
		if !dtmf || r.PacketHeader.PayloadType != pt {
			continue
		}
		k, lost, ok := det.packet(r.PacketHeader.Marker, r.PacketHeader.Timestamp, buf[:n])
		if lost != 0 {
			c.s.dropped.Add(1) // an event without an End: the key is not guessed
		}
		if ok {
			c.key(k)
		}
	}
}

// run carries out the engine's actions and feeds it keys and time-outs.
func (c *call) run(ctx context.Context) {
	acts := c.ivr.Start()
	var collect ivr.Action
	for {
		if acts != nil {
			end := c.perform(acts)
			switch end.Kind {
			case ivr.Hangup:
				c.drain(ctx)
				return
			case ivr.Transfer:
				c.drain(ctx)
				c.transfer(ctx, end.Target)
				return
			case ivr.Collect:
				collect = end
			default:
				return
			}
		}
		k, ok := c.wait(ctx, collect.Timeout)
		switch {
		case ctx.Err() != nil:
			c.ivr.Hangup()
			return
		case ok:
			c.player.stop() // barge-in
			acts = c.ivr.Key(ctx, k)
		default:
			acts = c.ivr.Timeout()
		}
	}
}

// perform queues what the actions say and returns the last action.
func (c *call) perform(acts []ivr.Action) ivr.Action {
	for _, a := range acts {
		if a.Kind != ivr.Say {
			return a
		}
		pcm, err := c.line.Prompts.PCM(a.Clips)
		if err != nil {
			c.log.Error("sip prompt", "err", err)
			continue
		}
		c.player.play(pcm)
	}
	return ivr.Action{}
}

// wait waits for a key; the time-out runs from the end of the prompt.
func (c *call) wait(ctx context.Context, timeout time.Duration) (rune, bool) {
	idle := c.player.idle()
	var expired <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return 0, false
		case k := <-c.keys:
			return k, true
		case <-idle:
			t := time.NewTimer(timeout)
			defer t.Stop()
			expired, idle = t.C, nil
		case <-expired:
			return 0, false
		}
	}
}

// drain lets the last words be heard before the call ends.
func (c *call) drain(ctx context.Context) {
	t := time.NewTimer(time.Minute)
	defer t.Stop()
	select {
	case <-c.player.idle():
		// One more packet's time, so the last frame leaves.
		time.Sleep(40 * time.Millisecond)
	case <-ctx.Done():
	case <-t.C:
	}
}

// transfer refers the caller to the agent, the line's ivr Config.Agent (a
// SIP URI, or a number, referred to at the host the caller called), as a
// blind transfer, and keeps the call until the caller's phone reports how
// the transfer went (a final NOTIFY), the caller leaves, or 30 s pass.
func (c *call) transfer(ctx context.Context, target string) {
	u, err := agentURI(target, c.d.InviteRequest.Recipient.Host)
	if err != nil {
		c.log.Warn("sip transfer", "err", err)
		return
	}
	final := make(chan int, 1)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = c.d.ReferOptions(rctx, u, diago.ReferServerOptions{OnNotify: func(code int) {
		if code >= 200 {
			select {
			case final <- code:
			default:
			}
		}
	}})
	if err != nil {
		c.log.Warn("sip transfer refused", "err", err)
		return
	}
	t := time.NewTimer(30 * time.Second)
	defer t.Stop()
	select {
	case code := <-final:
		if code >= 300 {
			c.log.Warn("sip transfer failed", "to", u.String(), "status", code)
			return
		}
		c.log.Info("sip call transferred", "to", u.String())
	case <-ctx.Done():
		c.log.Info("sip call transferred", "to", u.String())
	case <-t.C:
		c.log.Warn("sip transfer: no answer from the phone", "to", u.String())
	}
}
