package prompts_test

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"katong/ivr"
	"katong/ivr/prompts"
)

func load(t testing.TB, dir string) *prompts.Set {
	t.Helper()
	s, err := prompts.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestShippedSetHasEveryClip(t *testing.T) {
	s := load(t, "")
	manifest, err := os.ReadFile("clips/manifest.tsv")
	if err != nil {
		t.Fatal(err)
	}
	recorded := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(manifest)), "\n") {
		name, text, _ := strings.Cut(line, "\t")
		recorded[name] = text
	}
	for _, c := range ivr.Clips() {
		if !s.Has(c.Name) {
			t.Errorf("no clip %s (%q): run go generate ./ivr/prompts", c.Name, c.Text)
		}
		if recorded[c.Name] != c.Text {
			t.Errorf("clip %s says %q, the prompt %q: run go generate ./ivr/prompts", c.Name, recorded[c.Name], c.Text)
		}
	}
	if got, want := len(s.Names()), len(ivr.Clips()); got != want {
		t.Errorf("%d clips shipped; %d used", got, want)
	}
	// Small: the whole set stays a few MB.
	var total int
	for _, n := range s.Names() {
		b, _ := s.PCM([]string{n})
		if len(b) == 0 || len(b) > 8000*2*10 {
			t.Errorf("clip %s is %d bytes", n, len(b))
		}
		total += len(b)
	}
	if total > 4<<20 {
		t.Errorf("clip set is %d bytes", total)
	}
}

func TestPCMJoinsClips(t *testing.T) {
	s := load(t, "")
	one, _ := s.PCM([]string{"zh/1"})
	yuan, _ := s.PCM([]string{"zh/yuan"})
	both, err := s.PCM([]string{"zh/1", "zh/yuan"})
	if err != nil || !bytes.Equal(both, append(append([]byte{}, one...), yuan...)) {
		t.Fatalf("PCM(1, yuan) is not the two clips joined: %v", err)
	}
	if _, err := s.PCM([]string{"zh/1", "zh/nope"}); err == nil {
		t.Fatal("PCM with a missing clip gave no error")
	}
}

func tone(hz float64, secs float64) []byte {
	n := int(secs * prompts.SampleRate)
	b := make([]byte, 2*n)
	for i := 0; i < n; i++ {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(int16(8000*math.Sin(2*math.Pi*hz*float64(i)/prompts.SampleRate))))
	}
	return b
}

func TestBankRecordingsReplaceShippedClips(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "zh"), 0o755)
	rec := tone(440, 0.5)
	os.WriteFile(filepath.Join(dir, "zh", "welcome.wav"), prompts.WAV(rec), 0o644)
	s := load(t, dir)
	got, _ := s.PCM([]string{"zh/welcome"})
	if !bytes.Equal(got, rec) {
		t.Fatal("the bank's welcome clip was not used")
	}
	if !s.Has("zh/menu") {
		t.Fatal("shipped clips lost")
	}
	// A clip in another format is refused at load, not on a call.
	wav := prompts.WAV(rec)
	binary.LittleEndian.PutUint32(wav[24:], 22050)
	os.WriteFile(filepath.Join(dir, "zh", "menu.wav"), wav, 0o644)
	if _, err := prompts.Load(dir); err == nil || !strings.Contains(err.Error(), "8000 Hz") {
		t.Fatalf("Load took a 22 kHz clip: %v", err)
	}
}

func TestParseWAV(t *testing.T) {
	pcm := tone(300, 0.1)
	got, err := prompts.ParseWAV(prompts.WAV(pcm))
	if err != nil || !bytes.Equal(got, pcm) {
		t.Fatalf("round trip: %v", err)
	}
	stereo := prompts.WAV(pcm)
	binary.LittleEndian.PutUint16(stereo[22:], 2)
	for name, b := range map[string][]byte{"empty": nil, "text": []byte("RIFF....WAVEjunk"), "stereo": stereo,
		"truncated": prompts.WAV(pcm)[:30]} {
		if _, err := prompts.ParseWAV(b); err == nil {
			t.Errorf("ParseWAV(%s) took it", name)
		}
	}
}
