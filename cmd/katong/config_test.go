package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"katong/ivr"
)

// TestPhoneConfig: a bank's phone line is configured in the file, and a
// wrong setting stops the start.
func TestPhoneConfig(t *testing.T) {
	file := filepath.Join(t.TempDir(), "k.json")
	os.WriteFile(file, []byte(`{"master_key": "`+strings.Repeat("ab", 32)+`",
		"banks": [{"id": "galaxy", "name": "星河银行", "bins": ["622202"], "support": "95500",
		  "phone": {"auth": "pin", "agent": "sip:agent@pbx", "no_english": true, "er": true,
		            "prompts": {"welcome": {"zh": "您好，星河银行。", "en": "Galaxy Bank."}}}}]}`), 0o600)
	cfg, err := parseServeFlags([]string{"--config", file}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	p := phoneConfig(cfg.Banks[0].Katong(), cfg.Banks[0].Phone)
	if p.Auth != ivr.AuthPIN || p.Agent != "sip:agent@pbx" || !p.NoEnglish || p.Liang || p.Prompts["welcome"].ZH != "您好，星河银行。" {
		t.Fatalf("phone config %+v", p)
	}
	if d := phoneConfig(cfg.Banks[0].Katong(), PhoneConfig{}); d.Auth != ivr.AuthEither || !d.Liang || d.NoEnglish {
		t.Fatalf("defaults %+v", d)
	}
	// Rewording one prompt keeps the bank's own welcome.
	if m := phoneConfig(cfg.Banks[0].Katong(), PhoneConfig{Prompts: map[string]ivr.Text{"menu": {ZH: "菜单"}}}); m.Prompts["menu"].ZH != "菜单" ||
		!strings.Contains(m.Prompts["welcome"].ZH, "星河银行") {
		t.Fatalf("prompts %+v", m.Prompts)
	}
	os.WriteFile(file, []byte(`{"master_key": "`+strings.Repeat("ab", 32)+`",
		"banks": [{"id": "galaxy", "bins": ["622202"], "phone": {"auth": "voiceprint"}}]}`), 0o600)
	if _, err := parseServeFlags([]string{"--config", file}, func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), "phone.auth") {
		t.Fatalf("bad phone.auth accepted: %v", err)
	}
	os.WriteFile(file, []byte(`{"master_key": "`+strings.Repeat("ab", 32)+`",
		"banks": [{"id": "galaxy", "bins": ["622202"], "phone": {"prompts": {"welcom": {"zh": "您好"}}}}]}`), 0o600)
	if _, err := parseServeFlags([]string{"--config", file}, func(string) string { return "" }); err == nil ||
		!strings.Contains(err.Error(), `"welcom"`) {
		t.Fatalf("a misspelt prompt name accepted: %v", err)
	}
}
