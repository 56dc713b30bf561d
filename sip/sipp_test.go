package sip_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong"
)

// sippPcaps are sipp's bundled RFC 4733 recordings, one per key. Their
// first packet has duration 0, and the same key twice has the same RTP
// timestamp: what diago's own DTMF reader misses.
const sippPcaps = "/usr/share/sip-tester"

func sippPcap(k rune) string {
	name := string(k)
	switch k {
	case '#':
		name = "pound"
	case '*':
		name = "star"
	}
	return filepath.Join(sippPcaps, "dtmf_2833_"+name+".pcap")
}

// sippScenario writes a sipp scenario that calls the line, sends keys and
// waits for the line to hang up. Keys go as RFC 4733 pcaps (info false)
// or SIP INFO; a space in keys is a longer pause (letting a prompt start).
func sippScenario(t testing.TB, dir string, keys string, info bool) string {
	t.Helper()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="katong balance call">
  <send retrans="500">
    <![CDATA[
      INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>
      Call-ID: [call_id]
      CSeq: 1 INVITE
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/sdp
      Content-Length: [len]

      v=0
      o=sipp 53655765 2353687637 IN IP[local_ip_type] [local_ip]
      s=-
      c=IN IP[media_ip_type] [media_ip]
      t=0 0
      m=audio [media_port] RTP/AVP 0 101
      a=rtpmap:0 PCMU/8000
      a=rtpmap:101 telephone-event/8000
      a=fmtp:101 0-15
      a=sendrecv
    ]]>
  </send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rtd="true"/>
  <send>
    <![CDATA[
      ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: 1 ACK
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Length: 0
    ]]>
  </send>
  <pause milliseconds="1500"/>
`)
	cseq := 2
	keys = strings.TrimSpace(keys)
	for i, k := range keys {
		// No pause after the last key: the line's BYE may come at once,
		// and sipp takes a message that arrives in a pause as unexpected.
		pause := func(ms int) {
			if i < len(keys)-1 {
				fmt.Fprintf(&b, "  <pause milliseconds=\"%d\"/>\n", ms)
			}
		}
		switch {
		case k == ' ':
			b.WriteString("  <pause milliseconds=\"1000\"/>\n")
		case info:
			sig := string(k)
			fmt.Fprintf(&b, `  <send>
    <![CDATA[
      INFO sip:[service]@[remote_ip]:[remote_port] SIP/2.0
      Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
      From: <sip:13800138000@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
      To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
      Call-ID: [call_id]
      CSeq: %d INFO
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Max-Forwards: 70
      Content-Type: application/dtmf-relay
      Content-Length: [len]

      Signal=%s
      Duration=160
    ]]>
  </send>
  <recv response="200"/>
`, cseq, sig)
			cseq++
			pause(150)
		default:
			fmt.Fprintf(&b, "  <nop><action><exec play_pcap_audio=\"%s\"/></action></nop>\n", sippPcap(k))
			pause(300)
		}
	}
	b.WriteString(`  <recv request="BYE" timeout="60000"/>
  <send>
    <![CDATA[
      SIP/2.0 200 OK
      [last_Via:]
      [last_From:]
      [last_To:]
      [last_Call-ID:]
      [last_CSeq:]
      Contact: <sip:13800138000@[local_ip]:[local_port]>
      Content-Length: 0
    ]]>
  </send>
</scenario>
`)
	p := filepath.Join(dir, "scenario.xml")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// sippArgs are the arguments of one sipp run against the line.
func sippArgs(t testing.TB, l *line, scenario, service string, extra ...string) []string {
	return append([]string{"127.0.0.1:" + strconv.Itoa(l.port), "-sf", scenario, "-s", service,
		"-i", "127.0.0.1", "-p", strconv.Itoa(freePort(t)), "-mi", "127.0.0.1", "-mp", strconv.Itoa(freeRTPPort(t)),
		"-nostdin", "-timeout", "90s", "-timeout_error", "-trace_err"}, extra...)
}

// freeRTPPort is an even UDP port free on loopback, with the next one
// (RTCP) free too.
func freeRTPPort(t testing.TB) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		p := freePort(t) &^ 1
		a, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p})
		if err != nil {
			continue
		}
		b, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p + 1})
		a.Close()
		if err != nil {
			continue
		}
		b.Close()
		return p
	}
	t.Fatal("no free RTP port")
	return 0
}

// sippCall runs one balance call with sipp and checks, from the bank's
// side, that every key arrived and the balance was asked and audited.
func sippCall(t *testing.T, info bool) {
	needTool(t, "sipp")
	if !info {
		needFile(t, sippPcap('#'))
	}
	t.Parallel()
	l := newLine(t, tones(t), nil)
	dir := t.TempDir()
	// The same key twice in a row (the 2s, the 1s of the card) tests
	// events with the same RTP timestamp.
	keys := "1 " + l.w.Alice.PAN + "#" + " " + "11010519491231002*#" + " " + "#"
	scen := sippScenario(t, dir, keys, info)
	p := startTool(t, 100*time.Second, dir, "sipp", sippArgs(t, l, scen, "95500", "-m", "1")...)
	if err := p.wait(); err != nil {
		t.Fatalf("sipp: %v\n%s\nline log:\n%s", err, p.out.String(), l.log.String())
	}
	st := l.srv.Stats()
	want := int64(len(strings.ReplaceAll(keys, " ", "")))
	if st.Keys != want || st.KeysDropped != 0 {
		t.Fatalf("keys taken %d, dropped %d; sipp sent %d", st.Keys, st.KeysDropped, want)
	}
	log, err := l.w.Bank.Auth.AuditLog(context.Background(), 0, 5)
	if err != nil || len(log) != 1 || log[0].Result != "ok" || log[0].Channel != katong.ChannelPhone || log[0].Actor != "caller:+86 138****8000" {
		t.Fatalf("audit %+v %v", log, err)
	}
	l.checkLog(t)
}

func TestSippRFC4733(t *testing.T) { sippCall(t, false) }

func TestSippSIPInfo(t *testing.T) { sippCall(t, true) }
