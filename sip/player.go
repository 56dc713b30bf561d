package sip

import (
	"context"
	"io"
	"sync"
)

// frame is 20 ms of 8 kHz 16-bit PCM: one RTP packet of G.711.
const frame = 320

// player sends a call's audio: the prompts queued, and silence between
// them, one G.711 packet every 20 ms for the whole call (carrier
// equipment drops calls that go quiet). A key stops what is playing
// (barge-in).
type player struct {
	mu     sync.Mutex
	queue  []byte        // PCM still to play
	idleCh chan struct{} // closed when the queue has been played
	w      io.Writer     // paced: one Write per 20 ms
	encode func(dst, pcm []byte) (int, error)
}

func newPlayer(w io.Writer, encode func(dst, pcm []byte) (int, error)) *player {
	idle := make(chan struct{})
	close(idle)
	return &player{w: w, encode: encode, idleCh: idle}
}

// play queues audio after what is already queued.
func (p *player) play(pcm []byte) {
	if len(pcm) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		p.idleCh = make(chan struct{})
	}
	p.queue = append(p.queue, pcm...)
}

// stop drops what is queued.
func (p *player) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.drained()
}

// drained marks the queue played; p.mu is held.
func (p *player) drained() {
	p.queue = nil
	select {
	case <-p.idleCh:
	default:
		close(p.idleCh)
	}
}

// idle is closed when all queued audio has been sent.
func (p *player) idle() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.idleCh
}

// run sends audio until ctx ends or the media fails.
func (p *player) run(ctx context.Context) error {
	pcm := make([]byte, frame)
	enc := make([]byte, frame/2)
	for ctx.Err() == nil {
		p.mu.Lock()
		n := copy(pcm, p.queue)
		p.queue = p.queue[n:]
		clear(pcm[n:])
		if n > 0 && len(p.queue) == 0 {
			p.drained()
		}
		p.mu.Unlock()
		m, err := p.encode(enc, pcm)
		if err != nil {
			return err
		}
		if _, err := p.w.Write(enc[:m]); err != nil {
			return err
		}
	}
	return nil
}
