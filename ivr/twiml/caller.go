package twiml

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Caller calls a line's webhook the way a telephony provider does: it
// posts the call's fields, signed with the auth token, reads the TwiML
// and posts the keys to the <Gather>'s action. `katong call` and the
// tests use it.
type Caller struct {
	URL    string // the webhook: "http://127.0.0.1:8080/banks/galaxy/ivr/twiml"
	Token  string // the auth token the line checks signatures with
	From   string // the calling number, "+8613800138000"
	To     string // the number called
	Client *http.Client

	sid    string
	gather *Gather
}

// Turn is what the line answered: words to say, then a gather, a
// transfer or a hang-up.
type Turn struct {
	Say    []Speech
	Gather *Gather // keys wanted; nil when the call ended
	Dial   string  // the agent the call was transferred to
	Hangup bool
}

// Speech is one <Say>.
type Speech struct {
	Language string `xml:"language,attr"`
	Text     string `xml:",chardata"`
}

// Gather is a <Gather>: NumDigits keys, or keys until FinishOnKey.
type Gather struct {
	Action      string   `xml:"action,attr"`
	Timeout     int      `xml:"timeout,attr"`
	NumDigits   int      `xml:"numDigits,attr"`
	FinishOnKey string   `xml:"finishOnKey,attr"`
	Say         []Speech `xml:"Say"`
}

// Ended reports whether the call is over.
func (t *Turn) Ended() bool { return t.Gather == nil }

// Start places the call.
func (c *Caller) Start(ctx context.Context) (*Turn, error) {
	b := make([]byte, 16)
	rand.Read(b)
	c.sid = "CA" + hex.EncodeToString(b)
	return c.post(ctx, c.URL, url.Values{"CallStatus": {"ringing"}})
}

// CallSid is the call's id.
func (c *Caller) CallSid() string { return c.sid }

// Keys answers the pending gather with what was typed: digits without the
// finishing key, and finished the key that ended them ("#"), or "" for a
// time-out.
func (c *Caller) Keys(ctx context.Context, digits, finished string) (*Turn, error) {
	if c.gather == nil {
		return nil, errors.New("twiml: no gather is waiting for keys")
	}
	action, err := url.Parse(c.URL)
	if err != nil {
		return nil, err
	}
	if action, err = action.Parse(c.gather.Action); err != nil {
		return nil, err
	}
	return c.post(ctx, action.String(), url.Values{"CallStatus": {"in-progress"}, "Digits": {digits}, "FinishedOnKey": {finished}})
}

// Hangup tells the line the caller hung up, as the provider's status
// callback does.
func (c *Caller) Hangup(ctx context.Context) error {
	c.gather = nil
	_, err := c.do(ctx, c.URL+"/status", url.Values{"CallStatus": {"completed"}})
	return err
}

func (c *Caller) post(ctx context.Context, u string, form url.Values) (*Turn, error) {
	body, err := c.do(ctx, u, form)
	if err != nil {
		return nil, err
	}
	var doc struct {
		Items []struct {
			XMLName xml.Name
			Speech
			Gather
			Sip string `xml:"Sip"`
		} `xml:",any"`
	}
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("twiml: bad answer: %w", err)
	}
	t := &Turn{}
	for _, it := range doc.Items {
		switch it.XMLName.Local {
		case "Say":
			t.Say = append(t.Say, Speech{Language: it.Speech.Language, Text: strings.TrimSpace(it.Speech.Text)})
		case "Gather":
			g := it.Gather
			t.Say = append(t.Say, g.Say...)
			g.Say = nil
			t.Gather = &g
		case "Dial":
			t.Dial = strings.TrimSpace(it.Speech.Text)
			if it.Sip != "" {
				t.Dial = strings.TrimSpace(it.Sip)
			}
		case "Hangup":
			t.Hangup = true
		}
	}
	c.gather = t.Gather
	return t, nil
}

func (c *Caller) do(ctx context.Context, u string, form url.Values) ([]byte, error) {
	form.Set("CallSid", c.sid)
	form.Set("AccountSid", "AC00000000000000000000000000000000")
	form.Set("From", c.From)
	form.Set("To", c.To)
	form.Set("Direction", "inbound")
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", Sign(c.Token, u, form))
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode >= 300 {
		return nil, fmt.Errorf("twiml: %s answered %s: %s", u, res.Status, bytes.TrimSpace(body))
	}
	return body, nil
}
