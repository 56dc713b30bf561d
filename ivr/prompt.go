package ivr

import (
	"sort"
	"strings"

	"katong"
)

// Text is a prompt's words in both languages.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// IsPrompt reports whether name is the clip name of one of the line's
// prompts, the names Config.Prompts may reword.
func IsPrompt(name string) bool {
	_, ok := prompts[name]
	return ok
}

// In returns the words in the language.
func (t Text) In(lang katong.Lang) string {
	if lang == katong.EN {
		return t.EN
	}
	return t.ZH
}

// The prompts of the line, by clip name. Each is recorded (or generated)
// as the clips "zh/<name>" and "en/<name>" (for_english only in English,
// for_chinese only in Chinese); a bank may change the words with
// Config.Prompts and drop in recordings under the same names.
const (
	pWelcome          = "welcome"
	pMenu             = "menu"
	pForEnglish       = "for_english"
	pForChinese       = "for_chinese"
	pEnterSecret      = "enter_secret"
	pEnterCard        = "enter_card"
	pEnterID          = "enter_id"
	pEnterPIN         = "enter_pin"
	pCardTail         = "card_tail"
	pBalanceIs        = "balance_is"
	pBookedIs         = "booked_is"
	pAfterResult      = "after_result"
	pNoInput          = "no_input"
	pInvalid          = "invalid"
	pCardInvalid      = "card_invalid"
	pIDInvalid        = "id_invalid"
	pPINInvalid       = "pin_invalid"
	pSecretInvalid    = "secret_invalid"
	pNotFound         = "err_not_found"
	pAbnormal         = "err_abnormal"
	pRateLimited      = "err_rate_limited"
	pSecondsLater     = "seconds_later"
	pMinutesLater     = "minutes_later"
	pNetwork          = "err_network"
	pBusy             = "err_busy"
	pCrossBank        = "err_cross_bank"
	pTooManyFailures  = "too_many_failures"
	pTransfer         = "transfer"
	pAgentUnavailable = "agent_unavailable"
	pGoodbye          = "goodbye"
)

// prompts are the default words. Digits that are keys to press are
// written as figures; the speech generator and text-to-speech services
// read them as numbers.
var prompts = map[string]Text{
	pWelcome:          {"您好，欢迎致电银行客户服务热线。", "Welcome to the bank's phone banking line."},
	pMenu:             {"余额查询请按1，人工服务请按0。", "For your balance, press 1. For an agent, press 0."},
	pForEnglish:       {"", "For English, press 9."},
	pForChinese:       {"中文服务请按9。", ""},
	pEnterSecret:      {"请输入持卡人身份证号码或六位查询密码，以井号键结束，字母X请用星号键代替。", "Please enter the cardholder's ID number or your six digit phone PIN, followed by the hash key. For the letter X, press star."},
	pEnterCard:        {"请输入您的银行卡号，以井号键结束。", "Please enter your card number, followed by the hash key."},
	pEnterID:          {"请输入持卡人身份证号码，以井号键结束，字母X请用星号键代替。", "Please enter the cardholder's ID number, followed by the hash key. For the letter X, press star."},
	pEnterPIN:         {"请输入六位查询密码，以井号键结束。", "Please enter your six digit phone PIN, followed by the hash key."},
	pCardTail:         {"您尾号", "The card ending in"},
	pBalanceIs:        {"的卡，可用余额为", "has an available balance of"},
	pBookedIs:         {"，账面余额为", "and a ledger balance of"},
	pAfterResult:      {"重听请按星号键，查询其他卡请按1，人工服务请按0，结束通话请按井号键。", "To hear this again, press star. For another card, press 1. For an agent, press 0. To end the call, press hash."},
	pNoInput:          {"对不起，您没有输入。", "Sorry, we did not receive your input."},
	pInvalid:          {"对不起，您的输入有误。", "Sorry, that input was not valid."},
	pCardInvalid:      {"您输入的卡号有误。", "The card number you entered is not valid."},
	pIDInvalid:        {"您输入的身份证号码有误。", "The ID number you entered is not valid."},
	pPINInvalid:       {"查询密码应为六位数字。", "The phone PIN must be six digits."},
	pSecretInvalid:    {"您输入的身份证号码或查询密码有误。", "The ID number or PIN you entered is not valid."},
	pNotFound:         {"账户不存在，请核对您输入的卡号和验证信息。", "Account not found. Please check the numbers you entered."},
	pAbnormal:         {"账户异常，请联系银行客服，客服电话", "Your account is restricted. Please call the bank's support line on"},
	pRateLimited:      {"查询过于频繁，请", "Too many queries. Please try again in"},
	pSecondsLater:     {"秒后再试。", "seconds."},
	pMinutesLater:     {"分钟后再试。", "minutes."},
	pNetwork:          {"网络异常，请稍后再试。", "Network error. Please try again later."},
	pBusy:             {"系统繁忙，请稍后再试。", "The system is busy. Please try again later."},
	pCrossBank:        {"该卡不是本行发行的卡，请向发卡银行查询。", "This card was not issued by this bank. Please ask the bank that issued it."},
	pTooManyFailures:  {"输入错误次数过多。", "Too many wrong entries."},
	pTransfer:         {"正在为您转接人工服务，请稍候。", "Transferring you to an agent. Please hold."},
	pAgentUnavailable: {"人工服务暂不可用，请拨打客服电话", "No agent is available. Please call the support line on"},
	pGoodbye:          {"感谢您的来电，再见。", "Thank you for calling. Goodbye."},
}

// zhClips names the clip of each character that amounts, numbers and
// digit strings are read with.
var zhClips = map[rune]string{
	'零': "0", '一': "1", '二': "2", '三': "3", '四': "4", '五': "5", '六': "6", '七': "7", '八': "8", '九': "9",
	'幺': "yao", '两': "liang", '十': "shi", '百': "bai", '千': "qian", '万': "wan", '亿': "yi",
	'元': "yuan", '角': "jiao", '分': "fen", '整': "zheng", '负': "fu",
}

// enWords are the words English amounts, numbers and digit strings are
// read with; each is the clip "en/<word>".
var enWords = func() []string {
	w := append([]string{}, enOnes[:]...)
	w = append(w, enTens[2:]...)
	for _, s := range enScales {
		w = append(w, s.name)
	}
	return append(w, "hundred", "and", "yuan", "fen", "minus")
}()

// Clip is one recorded piece of speech: its name ("zh/menu", "zh/7",
// "en/seven"), language and words.
type Clip struct {
	Name string
	Lang katong.Lang
	Text string
}

// Clips lists every clip a line may ask for, with the default words: what
// a clip set must hold. The clip generator records these.
func Clips() []Clip {
	var out []Clip
	for name, t := range prompts {
		if t.ZH != "" {
			out = append(out, Clip{"zh/" + name, katong.ZH, t.ZH})
		}
		if t.EN != "" {
			out = append(out, Clip{"en/" + name, katong.EN, t.EN})
		}
	}
	for r, name := range zhClips {
		out = append(out, Clip{"zh/" + name, katong.ZH, string(r)})
	}
	for _, w := range enWords {
		out = append(out, Clip{"en/" + w, katong.EN, w})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// numberClips names the clips that read text made by ReadAmount,
// ReadNumber or ReadDigits (zh) or their English forms; punctuation and
// spaces have no clip.
func numberClips(lang katong.Lang, text string) []string {
	var out []string
	if lang == katong.EN {
		for _, w := range strings.Fields(text) {
			out = append(out, "en/"+w)
		}
		return out
	}
	for _, r := range text {
		if name, ok := zhClips[r]; ok {
			out = append(out, "zh/"+name)
		}
	}
	return out
}
