package twiml

import (
	"encoding/xml"
	"net/http"
	"strings"

	"katong"
	"katong/ivr"
	"katong/web"
)

// The TwiML verbs the line uses.
type (
	response struct {
		XMLName xml.Name `xml:"Response"`
		Verbs   []any
	}
	say struct {
		XMLName  xml.Name `xml:"Say"`
		Language string   `xml:"language,attr"`
		Text     string   `xml:",chardata"`
	}
	gather struct {
		XMLName             xml.Name `xml:"Gather"`
		Input               string   `xml:"input,attr"`
		Action              string   `xml:"action,attr"`
		Method              string   `xml:"method,attr"`
		Timeout             int      `xml:"timeout,attr"`
		NumDigits           int      `xml:"numDigits,attr,omitempty"`
		FinishOnKey         string   `xml:"finishOnKey,attr"` // "" must be said: the default is #
		ActionOnEmptyResult bool     `xml:"actionOnEmptyResult,attr"`
		Says                []say
	}
	dial struct {
		XMLName xml.Name `xml:"Dial"`
		Number  string   `xml:",chardata"`
		Sip     *sipURI
	}
	sipURI struct {
		XMLName xml.Name `xml:"Sip"`
		URI     string   `xml:",chardata"`
	}
	hangup struct {
		XMLName xml.Name `xml:"Hangup"`
	}
)

// language is the provider's name of a language.
func language(l katong.Lang) string {
	if l == katong.EN {
		return "en-US"
	}
	return "zh-CN"
}

// render answers the engine's actions as TwiML. Words said before a
// Collect go inside its <Gather>, so a key cuts them short (barge-in).
func (h *Handler) render(w http.ResponseWriter, acts []ivr.Action) {
	var verbs []any
	var says []say
	flush := func() {
		for _, s := range says {
			verbs = append(verbs, s)
		}
		says = nil
	}
	base := Path(h.bank.Config.ID)
	for i, a := range acts {
		switch a.Kind {
		case ivr.Say:
			says = append(says, say{Language: language(a.Lang), Text: a.Text})
		case ivr.Collect:
			if i != len(acts)-1 {
				continue // a later reply asks again
			}
			g := gather{Input: "dtmf", Method: "POST", Timeout: katong.Seconds(a.Timeout), ActionOnEmptyResult: true, Says: says}
			if a.Finish != 0 {
				g.Action, g.FinishOnKey = base+"/number", string(a.Finish)
			} else {
				g.Action, g.NumDigits = base+"/key", 1
			}
			says = nil
			verbs = append(verbs, g)
		case ivr.Hangup:
			flush()
			verbs = append(verbs, hangup{})
		case ivr.Transfer:
			flush()
			d := dial{Number: a.Target}
			if strings.HasPrefix(a.Target, "sip:") || strings.HasPrefix(a.Target, "sips:") {
				d = dial{Sip: &sipURI{URI: a.Target}}
			}
			verbs = append(verbs, d, hangup{})
		}
	}
	flush()
	body, err := xml.MarshalIndent(response{Verbs: verbs}, "", "  ")
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	web.NoStore(w)
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Write([]byte(xml.Header))
	w.Write(body)
}
