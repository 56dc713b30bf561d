// Package faultproxy is a TCP proxy for tests that puts network faults
// between a client and a server (RELIABILITY.md T5): it passes traffic
// through, or refuses connections, swallows them (a black hole), resets
// them in the middle of the answer, or answers garbage bytes.
package faultproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Mode is what the proxy does with connections.
type Mode int

const (
	// Pass copies bytes both ways.
	Pass Mode = iota
	// Refuse closes the listening socket: connecting is refused.
	Refuse
	// BlackHole accepts and reads, and never answers.
	BlackHole
	// Reset passes the request on, lets the first part of the answer
	// through and then resets the connection (TCP RST): the server did
	// the work, the client never learns its outcome.
	Reset
	// Garbage answers bytes that are not HTTP, then closes.
	Garbage
)

func (m Mode) String() string {
	return [...]string{"pass", "refuse", "black hole", "reset", "garbage"}[m]
}

// Proxy is a fault-injecting TCP proxy on a loopback port.
type Proxy struct {
	target string
	addr   string

	mu       sync.Mutex
	mode     Mode
	ln       net.Listener
	conns    map[net.Conn]struct{}
	closed   bool
	wg       sync.WaitGroup
	accepted atomic.Int64
}

// New starts a proxy to target ("127.0.0.1:8080") on a free loopback port,
// passing traffic through.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{target: target, addr: ln.Addr().String(), ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Add(1)
	go p.serve(ln)
	return p, nil
}

// Addr is the proxy's address, "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.addr }

// Accepted is the number of connections accepted so far.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// SetMode switches the mode. Open connections are closed, so that the
// next request meets the new mode on a new connection.
func (p *Proxy) SetMode(m Mode) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return errors.New("faultproxy: closed")
	}
	for c := range p.conns {
		c.Close()
	}
	switch {
	case m == Refuse && p.ln != nil:
		p.ln.Close()
		p.ln = nil
	case m != Refuse && p.ln == nil:
		var ln net.Listener
		var err error
		// The port was ours a moment ago; wait a little if it lingers.
		for i := 0; i < 50; i++ {
			if ln, err = net.Listen("tcp", p.addr); err == nil {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err != nil {
			return err
		}
		p.ln = ln
		p.wg.Add(1)
		go p.serve(ln)
	}
	p.mode = m
	return nil
}

// Close stops the proxy and closes every connection; it returns when all
// of the proxy's goroutines have ended.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Proxy) serve(ln net.Listener) {
	defer p.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		p.accepted.Add(1)
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			c.Close()
			return
		}
		mode := p.mode
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go func() {
			defer p.wg.Done()
			defer p.forget(c)
			p.handle(c, mode)
		}()
	}
}

// track registers a connection of the proxy's own (to the target) so that
// SetMode and Close end it too.
func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) forget(c net.Conn) {
	c.Close()
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) handle(c net.Conn, mode Mode) {
	switch mode {
	case BlackHole:
		io.Copy(io.Discard, c) // until the client gives up
	case Garbage:
		buf := make([]byte, 4096)
		c.SetReadDeadline(time.Now().Add(time.Second))
		c.Read(buf)
		c.Write([]byte("\x00\xff\xfe garbage \x13\x37 not http at all\r\n\r\n\x00\x01\x02"))
	case Pass, Reset:
		up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
		if err != nil {
			return
		}
		if !p.track(up) {
			up.Close()
			return
		}
		defer p.forget(up)
		done := make(chan struct{})
		go func() {
			defer close(done)
			io.Copy(up, c)
			if tc, ok := up.(*net.TCPConn); ok {
				tc.CloseWrite()
			}
		}()
		if mode == Pass {
			io.Copy(c, up)
		} else {
			buf := make([]byte, 64<<10)
			n, _ := up.Read(buf)
			if n > 1 {
				c.Write(buf[:n/2])
			}
			if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // close sends RST
			}
		}
		c.Close()
		up.Close()
		<-done
	}
}
