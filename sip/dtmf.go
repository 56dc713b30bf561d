package sip

import (
	"bufio"
	"bytes"
	"strconv"
	"strings"
)

// dtmfKeys are the RFC 4733 DTMF events 0–15.
const dtmfKeys = "0123456789*#ABCD"

// detector finds the keys in a stream of RFC 4733 telephone-event
// packets. An event is new when the marker bit is set, or the RTP
// timestamp or the event code changes; it is emitted once, on its first
// End packet, and the retransmitted Ends that follow are ignored. Unlike
// a detector that waits for a packet with a duration, it takes events
// whose first packet has duration 0 (RFC 4733 allows them; sipp's bundled
// pcaps send them). An event whose End packets were all lost is never
// taken as a key: when the next event begins it is reported lost, and the
// call counts it dropped.
type detector struct {
	active  bool
	ts      uint32
	event   byte
	emitted bool
}

// packet takes one telephone-event payload and returns a key when an
// event has ended (ok), and lost, the key of the event before, when this
// packet begins a new event and that one never ended.
func (d *detector) packet(marker bool, ts uint32, payload []byte) (key rune, lost rune, ok bool) {
	if len(payload) < 4 || payload[0] >= 16 {
		return 0, 0, false
	}
	ev, end := payload[0], payload[1]&0x80 != 0
	if !d.active || marker || ts != d.ts || ev != d.event {
		if d.active && !d.emitted && (ts != d.ts || ev != d.event) {
			lost = rune(dtmfKeys[d.event])
		}
		d.active, d.ts, d.event, d.emitted = true, ts, ev, false
	}
	if end && !d.emitted {
		d.emitted = true
		return rune(dtmfKeys[ev]), lost, true
	}
	return 0, lost, false
}

// infoKey reads the key of a SIP INFO body: application/dtmf-relay
// ("Signal=5\r\nDuration=160", with 10 and 11 for * and #) or
// application/dtmf (the key alone).
func infoKey(contentType string, body []byte) (rune, bool) {
	var sig string
	switch mediaType(contentType) {
	case "application/dtmf":
		sig = strings.TrimSpace(string(body))
	case "application/dtmf-relay":
		sc := bufio.NewScanner(bytes.NewReader(body))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "Signal") {
				sig = strings.TrimSpace(v)
			}
		}
	default:
		return 0, false
	}
	if n, err := strconv.Atoi(sig); err == nil && n >= 10 && n < 16 {
		return rune(dtmfKeys[n]), true
	}
	if len(sig) == 1 && strings.ContainsRune(dtmfKeys, rune(strings.ToUpper(sig)[0])) {
		return rune(strings.ToUpper(sig)[0]), true
	}
	return 0, false
}

// isDTMFInfo reports whether an INFO carries a key.
func isDTMFInfo(contentType string) bool {
	mt := mediaType(contentType)
	return mt == "application/dtmf-relay" || mt == "application/dtmf"
}

// mediaType is the media type of a Content-Type, in lower case, without
// its parameters.
func mediaType(contentType string) string {
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}
