package promptstest_test

import (
	"encoding/binary"
	"math/rand/v2"
	"testing"

	"github.com/emiago/diago/audio"

	"katong/ivr/prompts"
	"katong/ivr/prompts/promptstest"
)

// g711 is what a phone call does to audio: μ-law and back.
func g711(s []int16) []int16 {
	pcm := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(pcm[2*i:], uint16(v))
	}
	ulaw := make([]byte, len(s))
	audio.EncodeUlawTo(ulaw, pcm)
	audio.DecodeUlawTo(pcm, ulaw)
	return promptstest.Samples(pcm)
}

func TestFind(t *testing.T) {
	s, err := prompts.Load("")
	if err != nil {
		t.Fatal(err)
	}
	seed := uint64(7)
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, seed))
	balance, _ := promptstest.Clips(s, []string{"zh/1", "zh/qian", "zh/0", "zh/5", "zh/yuan"})
	// 20 s of a call: noise, the menu, the balance at a known place, quieter.
	rec := make([]int16, 20*prompts.SampleRate)
	for i := range rec {
		rec[i] = int16(r.IntN(200) - 100)
	}
	menu, _ := promptstest.Clips(s, []string{"zh/menu"})
	copy(rec[1000:], menu)
	at := 12345 + len(menu)
	for i, v := range balance {
		rec[at+i] = v / 2
	}
	rec = g711(rec)
	off, score := promptstest.Find(rec, balance)
	if off != at || score < 0.95 {
		t.Fatalf("Find(balance) = %d, %.3f; want %d, > 0.95", off, score, at)
	}
	// Another amount is not there.
	other, _ := promptstest.Clips(s, []string{"zh/9", "zh/bai", "zh/8", "zh/shi", "zh/yuan"})
	if _, score := promptstest.Find(rec, other); score > 0.6 {
		t.Fatalf("Find(another amount) = %.3f; want a poor match", score)
	}
	if _, score := promptstest.Find(rec[:10], balance); score != 0 {
		t.Fatal("a pattern longer than the recording matched")
	}
}
