package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strings"

	"katong"
	"katong/demo"
)

// runDemo prints the demo identities: `katong demo info [--json]`.
func runDemo(args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "info" {
		return fmt.Errorf("usage: katong demo info [--json]")
	}
	fs := flag.NewFlagSet("demo info", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	w := demo.Info()
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(w)
	}
	fmt.Fprint(stdout, demoText(w))
	return nil
}

// demoText is the demo world as a person reads it (also printed by serve --demo).
func demoText(w *demo.World) string {
	var b strings.Builder
	fmt.Fprintln(&b, "Demo customers (bank app: mobile + password; counter and phone: card + ID number or phone PIN):")
	for _, c := range w.Customers {
		note := ""
		if c.Note != "" {
			note = "  (" + c.Note + ")"
		}
		fmt.Fprintf(&b, "  %-9s %-4s mobile %s  password %s  ID %s%s\n", c.Bank, c.Name, c.Mobile, c.Password, c.IDNumber, note)
		for _, card := range c.Cards {
			fmt.Fprintf(&b, "      card %s  phone PIN %s\n", card.Number, card.PIN)
		}
	}
	fmt.Fprintln(&b, "Demo staff (teller console):")
	for _, s := range w.Staff {
		fmt.Fprintf(&b, "  %-9s %-8s password %-18s %s\n", s.Bank, s.Username, s.Password, s.Role)
	}
	fmt.Fprintln(&b, "Demo wallet users:")
	for _, u := range w.WalletUsers {
		fmt.Fprintf(&b, "  %s  password %s  (%s)\n", u.Mobile, u.Password, u.Name)
	}
	fmt.Fprintln(&b, "These secrets are public demo data:", katong.MaskCard("6222021234567894"), "is how cards appear elsewhere.")
	return b.String()
}
