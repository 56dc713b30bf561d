package sip_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"katong/ivr/prompts"
	"katong/ivr/prompts/promptstest"
)

// baresip is a real softphone driven over its ctrl_tcp socket: netstring
// JSON commands and events.
type baresip struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
	dir  string
	proc *tool
}

func startBaresip(t *testing.T) *baresip {
	t.Helper()
	needTool(t, "baresip")
	dir := t.TempDir()
	ctrl, rtp := freeTCPPort(t), freeRTPPort(t)
	// The caller's microphone: silence longer than the call, as baresip
	// hangs up when its source ends.
	if err := os.WriteFile(filepath.Join(dir, "silence.wav"), prompts.WAV(make([]byte, 2*prompts.SampleRate*150)), 0o644); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "rec"), 0o755)
	config := fmt.Sprintf(`poll_method epoll
sip_listen 127.0.0.1:%d
net_interface 127.0.0.1
audio_player alsa,null
audio_source aufile,%s
audio_alert alsa,null
ausrc_srate 8000
auplay_srate 8000
ausrc_channels 1
auplay_channels 1
rtp_ports %d-%d
module_path /usr/lib/baresip/modules
module g711.so
module sndfile.so
module aufile.so
module alsa.so
module_app account.so
module_app menu.so
module_app ctrl_tcp.so
ctrl_tcp_listen 127.0.0.1:%d
snd_path %s
`, freePort(t), filepath.Join(dir, "silence.wav"), rtp, rtp+1, ctrl, filepath.Join(dir, "rec"))
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), []byte("<sip:13800138000@127.0.0.1>;regint=0;audio_codecs=PCMU\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := &baresip{t: t, dir: dir}
	b.proc = startTool(t, 120*time.Second, dir, "baresip", "-f", dir)
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(ctrl), time.Second)
		if err == nil {
			b.conn, b.r = c, bufio.NewReader(c)
			t.Cleanup(func() { c.Close() })
			return b
		}
		if time.Now().After(deadline) {
			t.Fatalf("baresip ctrl_tcp not up: %v\n%s", err, b.proc.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCPPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// command sends a ctrl_tcp command.
func (b *baresip) command(cmd, params string) {
	b.t.Helper()
	body, _ := json.Marshal(map[string]string{"command": cmd, "params": params, "token": cmd})
	b.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(b.conn, "%d:%s,", len(body), body); err != nil {
		b.t.Fatalf("baresip %s: %v", cmd, err)
	}
}

// event waits for an event of the type, skipping others.
func (b *baresip) event(typ string, within time.Duration) {
	b.t.Helper()
	b.conn.SetReadDeadline(time.Now().Add(within))
	for {
		n, err := b.r.ReadString(':')
		if err != nil {
			b.t.Fatalf("waiting for %s: %v\n%s", typ, err, b.proc.out.String())
		}
		size, err := strconv.Atoi(strings.TrimSuffix(n, ":"))
		if err != nil || size < 0 || size > 1<<20 {
			b.t.Fatalf("bad netstring %q", n)
		}
		msg := make([]byte, size+1)
		if _, err := io.ReadFull(b.r, msg); err != nil {
			b.t.Fatal(err)
		}
		var m struct {
			Event bool   `json:"event"`
			Type  string `json:"type"`
		}
		json.Unmarshal(msg[:size], &m)
		if m.Event && m.Type == typ {
			return
		}
	}
}

// keys sends keys one by one, as a person would.
func (b *baresip) keys(s string) {
	for _, k := range s {
		b.command("sndcode", string(k))
		time.Sleep(250 * time.Millisecond)
	}
}

// recording is what baresip heard so far (its sndfile dump of the
// decoded audio).
func (b *baresip) recording() []int16 {
	files, _ := filepath.Glob(filepath.Join(b.dir, "rec", "dump-*-dec.wav"))
	if len(files) == 0 {
		return nil
	}
	data, err := os.ReadFile(files[0])
	if err != nil {
		return nil
	}
	pcm, err := prompts.ParseWAV(data)
	if err != nil {
		b.t.Fatalf("baresip recording %s: %v", files[0], err)
	}
	return promptstest.Samples(pcm)
}

func (b *baresip) hear(set *prompts.Set, clips []string, within time.Duration) float64 {
	b.t.Helper()
	return b.hearPart(set, clips, 0, within)
}

// hearPart waits for the first secs of the clips (all of them if 0).
func (b *baresip) hearPart(set *prompts.Set, clips []string, secs float64, within time.Duration) float64 {
	b.t.Helper()
	want, err := promptstest.Clips(set, clips)
	if err != nil {
		b.t.Fatal(err)
	}
	if n := int(secs * prompts.SampleRate); n > 0 && n < len(want) {
		want = want[:n]
	}
	deadline := time.Now().Add(within)
	for {
		_, score := promptstest.Find(b.recording(), want)
		if score > 0.85 {
			return score
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("baresip did not hear %v in %s (best %.2f)\n%s", clips, within, score, b.proc.out.String())
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestBaresipHearsTheBalance dials the line from a real softphone with
// the shipped prompts, types the keys (RFC 4733 from baresip), and checks
// in baresip's own recording that the balance was said, by normalised
// cross-correlation with the clips.
func TestBaresipHearsTheBalance(t *testing.T) {
	t.Parallel()
	b := startBaresip(t)
	l := newLine(t, nil, nil)
	b.command("dial", "sip:95500@127.0.0.1:"+strconv.Itoa(l.port))
	b.event("CALL_ESTABLISHED", 15*time.Second)
	// Keys cut each prompt short once it is heard to begin.
	b.hearPart(l.prompts, []string{"zh/welcome"}, 1, 15*time.Second)
	b.keys("1")
	b.hearPart(l.prompts, []string{"zh/enter_card"}, 1, 15*time.Second)
	b.keys(l.w.Bob.PAN + "#")
	b.hearPart(l.prompts, []string{"zh/enter_secret"}, 1, 20*time.Second)
	b.keys(l.w.Bob.PIN + "#")
	balance := balanceClips(t, l.cfg, "0019", 50000)
	score := b.hear(l.prompts, balance, 20*time.Second)
	// Another amount is not what was heard.
	_, other := promptstest.Find(b.recording(), samples(t, l.prompts, balanceClips(t, l.cfg, "7894", 120507)...))
	if other > score-0.1 {
		t.Fatalf("the balance matched %.2f, another amount %.2f: the check tells nothing", score, other)
	}
	t.Logf("balance heard by baresip: correlation %.3f (another amount %.3f)", score, other)
	b.keys("#")
	b.event("CALL_CLOSED", 20*time.Second)
	if st := l.srv.Stats(); st.Keys != int64(len("1"+l.w.Bob.PAN+"#"+l.w.Bob.PIN+"#"+"#")) || st.KeysDropped != 0 {
		t.Fatalf("stats %+v\n%s", st, l.log.String())
	}
	l.checkLog(t)
}
