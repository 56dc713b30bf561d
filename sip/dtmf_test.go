package sip

import (
	"testing"
)

// ev is a telephone-event payload.
func ev(event byte, end bool, dur uint16) []byte {
	b := []byte{event, 10, byte(dur >> 8), byte(dur)}
	if end {
		b[1] |= 0x80
	}
	return b
}

type pkt struct {
	marker bool
	ts     uint32
	p      []byte
}

// press is the packets of one key as sipp's dtmf_2833 pcaps send it: a
// first packet with duration 0 and the marker bit, six more, and three
// Ends.
func press(event byte, ts uint32) []pkt {
	out := []pkt{{true, ts, ev(event, false, 0)}}
	for i := uint16(1); i < 7; i++ {
		out = append(out, pkt{false, ts, ev(event, false, i*320)})
	}
	for i := 0; i < 3; i++ {
		out = append(out, pkt{false, ts, ev(event, true, 2240)})
	}
	return out
}

func detect(pkts ...[]pkt) (keys string, lost string) {
	var d detector
	for _, ps := range pkts {
		for _, p := range ps {
			k, l, ok := d.packet(p.marker, p.ts, p.p)
			if l != 0 {
				lost += string(l)
			}
			if ok {
				keys += string(k)
			}
		}
	}
	return keys, lost
}

func TestDetector(t *testing.T) {
	for _, tc := range []struct {
		name       string
		pkts       [][]pkt
		keys, lost string
	}{
		{"one key, first packet of duration 0", [][]pkt{press(1, 100)}, "1", ""},
		{"every key", [][]pkt{press(0, 1), press(9, 2), press(10, 3), press(11, 4), press(15, 5)}, "09*#D", ""},
		// sipp replays the same pcap: the same digit twice has the same
		// timestamp; the marker bit tells them apart.
		{"same key twice, same timestamp", [][]pkt{press(5, 13280), press(5, 13280)}, "55", ""},
		{"marker lost, new timestamp", [][]pkt{press(2, 10), func() []pkt { p := press(2, 20); p[0].marker = false; return p }()}, "22", ""},
		{"all Ends lost", [][]pkt{press(3, 10)[:7], press(4, 20)}, "4", "3"},
		{"Ends only", [][]pkt{press(6, 10)[7:]}, "6", ""},
		{"not DTMF events", [][]pkt{{{true, 1, ev(16, true, 100)}, {true, 2, ev(200, true, 100)}, {true, 3, []byte{1, 0x80}}}}, "", ""},
	} {
		keys, lost := detect(tc.pkts...)
		if keys != tc.keys || lost != tc.lost {
			t.Errorf("%s: keys %q lost %q; want %q, %q", tc.name, keys, lost, tc.keys, tc.lost)
		}
	}
}

func TestInfoKey(t *testing.T) {
	for _, tc := range []struct {
		ct, body string
		key      rune
		ok       bool
	}{
		{"application/dtmf-relay", "Signal=1\r\nDuration=160\r\n", '1', true},
		{"application/dtmf-relay", "Signal=#\r\nDuration=160\r\n", '#', true},
		{"application/dtmf-relay", "Signal=11\r\nDuration=160\r\n", '#', true},
		{"application/dtmf-relay", "Signal=10\r\nDuration=160\r\n", '*', true},
		{"Application/DTMF-Relay; charset=utf-8", "signal = *\nduration=100", '*', true},
		{"application/dtmf", "7", '7', true},
		{"application/dtmf-relay", "Signal=\r\n", 0, false},
		{"application/dtmf-relay", "Signal=99\r\n", 0, false},
		{"application/dtmf-relay", "Signal=x\r\n", 0, false},
		{"text/plain", "Signal=1", 0, false},
	} {
		k, ok := infoKey(tc.ct, []byte(tc.body))
		if k != tc.key || ok != tc.ok {
			t.Errorf("infoKey(%q, %q) = %q, %v; want %q, %v", tc.ct, tc.body, k, ok, tc.key, tc.ok)
		}
	}
	if !isDTMFInfo("application/dtmf-relay") || !isDTMFInfo(" Application/DTMF; x=y") || isDTMFInfo("application/sdp") {
		t.Error("isDTMFInfo")
	}
}
