package ivr

import (
	"encoding/json"
	"fmt"
	"time"

	"katong"
)

// Sealer seals the digits a call holds between two turns (the card number
// while the secret is typed) for storage, and opens them again;
// *secret.Vault is one.
type Sealer interface {
	Seal(domain, value string) []byte
	Open(domain string, sealed []byte) (string, error)
}

// sealDomain is the vault domain of sealed call digits.
const sealDomain = "ivr-keys"

// state is a call as stored between the turns of a webhook: everything
// but the digits is in the clear; the digits only sealed.
type state struct {
	Version  int         `json:"v"`
	Actor    string      `json:"actor,omitempty"` // the masked caller
	Detail   string      `json:"detail,omitempty"`
	Lang     katong.Lang `json:"lang"`
	Step     step        `json:"step"`
	Tries    int         `json:"tries,omitempty"`
	Failures int         `json:"failures,omitempty"`
	Turns    int         `json:"turns"`
	Start    int64       `json:"start"` // Unix microseconds
	Card     []byte      `json:"card,omitempty"`
	Buf      []byte      `json:"buf,omitempty"`
	Result   *result     `json:"result,omitempty"`
}

// MarshalState returns the call's state for storage, with any digits it
// holds sealed by s.
func (c *Call) MarshalState(s Sealer) ([]byte, error) {
	st := state{Version: 1, Actor: c.actor, Detail: c.detail, Lang: c.lang, Step: c.step, Tries: c.tries,
		Failures: c.failures, Turns: c.turns, Start: c.start.UnixMicro(), Result: c.result}
	if len(c.card) > 0 {
		st.Card = s.Seal(sealDomain, string(c.card))
	}
	if len(c.buf) > 0 {
		st.Buf = s.Seal(sealDomain, string(c.buf))
	}
	return json.Marshal(st)
}

// Resume continues a call from a state MarshalState made, opening its
// digits with s.
func (l *Line) Resume(data []byte, s Sealer) (*Call, error) {
	var st state
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("ivr: call state: %w", err)
	}
	if st.Version != 1 || st.Step < stepNew || st.Step > stepEnded || st.Lang != katong.ZH && st.Lang != katong.EN {
		return nil, fmt.Errorf("ivr: call state: unknown version or step")
	}
	c := &Call{line: l, actor: st.Actor, detail: st.Detail, lang: st.Lang, step: st.Step, tries: st.Tries,
		failures: st.Failures, turns: st.Turns, start: time.UnixMicro(st.Start), result: st.Result,
		card: newKeys(), buf: newKeys()}
	for _, f := range []struct {
		sealed []byte
		k      *keys
	}{{st.Card, &c.card}, {st.Buf, &c.buf}} {
		if len(f.sealed) == 0 {
			continue
		}
		v, err := s.Open(sealDomain, f.sealed)
		if err != nil {
			return nil, fmt.Errorf("ivr: call state: %w", err)
		}
		if len(v) > maxKeys {
			return nil, fmt.Errorf("ivr: call state: too many digits")
		}
		*f.k = append(*f.k, v...)
	}
	return c, nil
}
