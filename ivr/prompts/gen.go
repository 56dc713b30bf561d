//go:build ignore

// gen records the shipped clip set: every clip the line may ask for
// (ivr.Clips), spoken by espeak-ng (voice cmn-latn-pinyin for Chinese, en
// for English) and turned by sox into 8 kHz 16-bit mono WAV with its
// silences trimmed, under clips/<lang>/<name>.wav, with clips/manifest.tsv
// listing the words of each clip. Run it with go generate after changing
// a prompt's words; commit what it writes.
//
//	go generate ./ivr/prompts        # needs espeak-ng and sox
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"katong"
	"katong/ivr"
)

func main() {
	out := flag.String("out", "clips", "directory to write the clips to")
	only := flag.String("only", "", "record only clips whose name starts with this")
	flag.Parse()
	for _, tool := range []string{"espeak-ng", "sox"} {
		if _, err := exec.LookPath(tool); err != nil {
			log.Fatalf("%s is needed: apt-get install espeak-ng sox", tool)
		}
	}
	tmp, err := os.MkdirTemp("", "katong-clips")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)

	clips := ivr.Clips()
	want := map[string]bool{}
	var manifest []string
	for _, c := range clips {
		want[filepath.FromSlash(c.Name)+".wav"] = true
		manifest = append(manifest, c.Name+"\t"+c.Text)
		if !strings.HasPrefix(c.Name, *only) {
			continue
		}
		if err := record(tmp, filepath.Join(*out, filepath.FromSlash(c.Name)+".wav"), c); err != nil {
			log.Fatalf("%s: %v", c.Name, err)
		}
	}
	// Clips no prompt uses any more go.
	filepath.Walk(*out, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".wav") {
			if rel, _ := filepath.Rel(*out, p); !want[rel] {
				os.Remove(p)
			}
		}
		return nil
	})
	sort.Strings(manifest)
	if err := os.WriteFile(filepath.Join(*out, "manifest.tsv"), []byte(strings.Join(manifest, "\n")+"\n"), 0o644); err != nil {
		log.Fatal(err)
	}
}

// record speaks one clip. A clip of one character or word (a digit, a
// unit) gets a short pause after it, so that joined digits sound like one
// number; a sentence a longer one.
func record(tmp, dst string, c ivr.Clip) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	voice, speed, pause := "en", "165", "0.25"
	if c.Lang == katong.ZH {
		voice, speed = "cmn-latn-pinyin", "175"
	}
	if len([]rune(c.Text)) == 1 || c.Lang == katong.EN && !strings.Contains(c.Text, " ") {
		pause = "0.05"
	}
	raw := filepath.Join(tmp, "raw.wav")
	if out, err := exec.CommandContext(ctx, "espeak-ng", "-v", voice, "-s", speed, "-w", raw, c.Text).CombinedOutput(); err != nil {
		return fmt.Errorf("espeak-ng: %v: %s", err, out)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	// Trim the silence espeak leaves at both ends, leave 3 dB of headroom,
	// then pad with the pause.
	args := []string{raw, "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", dst,
		"silence", "1", "0.01", "0.5%", "reverse", "silence", "1", "0.01", "0.5%", "reverse",
		"gain", "-n", "-3", "pad", "0", pause}
	if out, err := exec.CommandContext(ctx, "sox", args...).CombinedOutput(); err != nil {
		return fmt.Errorf("sox: %v: %s", err, out)
	}
	return nil
}
