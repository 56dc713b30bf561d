package wallet

import (
	"html/template"
	"katong/web"
	"strconv"
	"time"

	"katong"
)

// words are the pages' words, zh-CN and English.
var words = map[string][2]string{
	"app":            {"卡通钱包", "Katong Wallet"},
	"login":          {"登录", "Log in"},
	"logout":         {"退出登录", "Log out"},
	"register":       {"注册", "Sign up"},
	"no_account":     {"还没有账号？", "No account yet?"},
	"have_account":   {"已有账号？", "Have an account?"},
	"mobile":         {"手机号", "Mobile number"},
	"password":       {"密码", "Password"},
	"password_hint":  {"至少 8 位", "At least 8 characters"},
	"me":             {"我的", "Me"},
	"cards":          {"银行卡", "Bank cards"},
	"card_count":     {"张卡", "cards"},
	"payments":       {"支付记录", "Payments"},
	"add_card":       {"添加银行卡", "Add a bank card"},
	"no_cards":       {"还没有绑定银行卡。", "No bank card bound yet."},
	"card_detail":    {"卡详情", "Card details"},
	"debit":          {"储蓄卡", "Debit card"},
	"tail":           {"尾号", "ending "},
	"card_number":    {"银行卡号", "Card number"},
	"card_hint":      {"仅支持以下合作银行的储蓄卡，下一步将跳转到银行页面授权。", "Debit cards of these partner banks only. Next, you approve the binding on your bank's page."},
	"next_bank":      {"下一步：去银行授权", "Next: approve at the bank"},
	"agreement":      {"绑定即同意《卡通服务协议》：钱包可在你支付时从该卡扣款，并可查询该卡余额与交易记录。", "By binding you accept the Katong agreement: the wallet may debit this card for your payments and read its balance and records."},
	"available":      {"可用余额", "Available balance"},
	"booked":         {"账面余额", "Booked balance"},
	"updated":        {"更新于", "As of"},
	"refresh":        {"刷新", "Refresh"},
	"show":           {"显示余额", "Show balances"},
	"hide":           {"隐藏余额", "Hide balances"},
	"records":        {"近期交易记录", "Recent records"},
	"no_records":     {"暂无交易记录。", "No records yet."},
	"balance_after":  {"余额", "Balance"},
	"pay":            {"支付", "Pay"},
	"pay_title":      {"向商户付款", "Pay a merchant"},
	"merchant":       {"收款方", "Payee"},
	"amount":         {"金额（元）", "Amount (yuan)"},
	"reference":      {"商户订单号", "Merchant reference"},
	"pay_from":       {"付款卡", "Pay from"},
	"confirm_pay":    {"确认付款", "Confirm payment"},
	"retry":          {"重试", "Retry"},
	"unbind":         {"解除绑定", "Unbind this card"},
	"unbind_hint":    {"解绑后该卡立即从钱包移除，并撤销在银行的授权。", "The card leaves the wallet at once and its authorisation at the bank is revoked."},
	"status":         {"状态", "Status"},
	"paid":           {"支付成功", "Paid"},
	"pending":        {"结果确认中", "Being confirmed"},
	"failed":         {"支付失败", "Failed"},
	"refund_paid":    {"退款成功", "Refunded"},
	"refund_pending": {"退款确认中", "Refund being confirmed"},
	"refund_failed":  {"退款失败", "Refund failed"},
	"pending_hint":   {"银行的答复丢失了，钱包正在用同一笔订单向银行确认，不会重复扣款。", "The bank's answer was lost; the wallet is asking the bank again with the same order, so you are never charged twice."},
	"check_again":    {"再次确认", "Check again"},
	"refunds":        {"退款", "Refunds"},
	"refunded":       {"已退款", "Refunded"},
	"refund":         {"申请退款", "Refund"},
	"refund_reason":  {"退款说明", "Refund note"},
	"no_payments":    {"还没有支付记录。", "No payments yet."},
	"created":        {"时间", "Time"},
	"card":           {"卡详情", "Card details"},
	"bind":           {"添加银行卡", "Add a bank card"},
	"payment":        {"支付详情", "Payment"},
	"message":        {"提示", "Notice"},
	"demo_merchant":  {"卡通演示商户", "Katong demo merchant"},
	"back_cards":     {"返回银行卡", "Back to bank cards"},
	"back_me":        {"返回我的", "Back to Me"},
	"error":          {"出错了", "Something went wrong"},
	"next_step":      {"下一步", "What to do"},
	"call":           {"拨打", "Call"},
	"request_id":     {"请求编号", "Reference"},
	"lang_other":     {"English", "中文"},
	"lang_other_tag": {"en", "zh"},
	"hidden":         {"¥ ****", "¥ ****"},
	"support":        {"客服", "Support"},
}

func word(lang katong.Lang, key string) string {
	w, ok := words[key]
	if !ok {
		return key
	}
	if lang == katong.EN {
		return w[1]
	}
	return w[0]
}

// funcs are the pages' template functions.
var funcs = template.FuncMap{
	"t":    word,
	"yuan": func(a katong.Amount) string { return a.Yuan() },
	// signed shows a record's amount with its sign: "+¥12.00", "-¥3.00".
	"signed": func(a katong.Amount) string {
		if a > 0 {
			return "+" + a.Yuan()
		}
		return a.Yuan()
	},
	"hm":   func(t time.Time) string { return t.In(katong.Shanghai).Format("15:04") },
	"day":  func(t time.Time) string { return t.In(katong.Shanghai).Format("2006-01-02 15:04") },
	"iso":  func(t time.Time) string { return t.In(katong.Shanghai).Format(time.RFC3339) },
	"mask": katong.MaskMobile,
	"bank": func(lang katong.Lang, p *Partner) string {
		if lang == katong.EN && p.NameEN != "" {
			return p.NameEN
		}
		return p.Name
	},
	"ink":      web.Ink,
	"tileArgs": func(lang katong.Lang, c *Card) tileArgs { return tileArgs{Lang: lang, Card: c} },
	"code":     func(lang katong.Lang, c katong.Code) string { return katong.Text(c, lang) },
	"itoa":     func(i int64) string { return strconv.FormatInt(i, 10) },
	"htmlLang": func(lang katong.Lang) string {
		if lang == katong.EN {
			return "en"
		}
		return "zh-CN"
	},
}

// tileArgs is what the card tile template gets.
type tileArgs struct {
	Lang katong.Lang
	Card *Card
}
