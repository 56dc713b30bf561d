package openbanking

import "katong"

// texts are the words of the consent pages, zh-CN and English.
var texts = map[string][2]string{
	"authorize_title":   {"授权第三方访问", "Authorise access"},
	"asks":              {"%s 请求访问您在%s的账户", "%s asks to access your %s accounts"},
	"perms":             {"将获得以下权限", "It will be able to"},
	"cards":             {"选择要授权的银行卡", "Choose the cards to share"},
	"agreement":         {"卡通绑定协议", "卡通 binding agreement"},
	"agreement_body":    {"同意后，%[1]s 可在您通过 %[1]s 付款时，直接从所选银行卡账户扣款；每笔扣款都会出现在您的交易记录中。您可随时在“授权管理”中撤销授权，撤销后不再扣款。", "If you agree, %[1]s may debit the selected card accounts for the payments you make with %[1]s. Every debit shows in your transaction records. You can revoke this at any time under Authorisations; no debit is made after that."},
	"agree":             {"我已阅读并同意《卡通绑定协议》", "I have read and agree to the 卡通 binding agreement"},
	"valid_until":       {"有效期至", "Valid until"},
	"no_expiry":         {"长期有效，可随时撤销", "No expiry: revoke at any time"},
	"tx_window":         {"可查询交易的时间范围", "Transactions it may read"},
	"approve":           {"同意授权", "Approve"},
	"reject":            {"拒绝", "Reject"},
	"login_title":       {"登录%s", "Log in to %s"},
	"login_intro":       {"%s 请求访问您的账户。请先登录手机银行账户。", "%s asks to access your accounts. Log in with your bank app account first."},
	"mobile":            {"手机号", "Mobile number"},
	"password":          {"登录密码", "Password"},
	"login":             {"登录", "Log in"},
	"wrong_login":       {"手机号或密码错误", "Wrong mobile number or password"},
	"locked":            {"错误次数过多，已暂时锁定，请 %s 后再试", "Too many wrong attempts: locked, try again in %s"},
	"bad_mobile":        {"请输入正确的手机号", "Enter a valid mobile number"},
	"choose_card":       {"请至少选择一张银行卡", "Choose at least one card"},
	"must_agree":        {"请阅读并同意《卡通绑定协议》", "Please read and agree to the binding agreement"},
	"expired_form":      {"页面已过期，请重新提交", "The page expired: please submit again"},
	"abnormal":          {"账户异常", "Account abnormal"},
	"no_cards":          {"您名下没有可授权的银行卡", "You have no card to share"},
	"consents_title":    {"授权管理", "Authorisations"},
	"consents_intro":    {"以下第三方可以访问您的账户。撤销后，对方将无法再查询或扣款。", "These third parties can access your accounts. Once revoked, they can no longer read or debit them."},
	"no_consents":       {"暂无授权", "No authorisations"},
	"revoke":            {"撤销授权", "Revoke"},
	"revoked":           {"已撤销授权", "Authorisation revoked"},
	"authorised_at":     {"授权时间", "Authorised"},
	"accounts":          {"授权账户", "Accounts"},
	"payments_client":   {"可按《卡通绑定协议》扣款", "May debit under the binding agreement"},
	"bad_request":       {"授权请求无效", "Invalid authorisation request"},
	"bad_request_body":  {"请返回原应用重新发起授权。", "Go back to the app and start again."},
	"error":             {"出错了", "Something went wrong"},
	"internal":          {"系统繁忙，请稍后再试", "System busy: please try again later"},
	"lang_switch":       {"English", "中文"},
	"logged_in_as":      {"当前用户", "Logged in as"},
	"support":           {"客服电话", "Support"},
	"unknown_client":    {"未登记的第三方应用", "Unknown third-party app"},
	"bad_redirect":      {"回调地址与登记的不一致", "The redirect address is not the registered one"},
	"consent_gone":      {"该授权请求已失效", "This authorisation request is no longer valid"},
	"status_AUTH":       {"已授权", "Authorised"},
	"status_CANC":       {"已撤销", "Revoked"},
	"status_EXPD":       {"已过期", "Expired"},
	"status_RJCT":       {"已拒绝", "Rejected"},
	"status_AWAU":       {"待授权", "Awaiting"},
	"history":           {"已结束的授权", "Ended authorisations"},
	"masked_card_label": {"卡号", "Card"},
}

// permText names each permission for people.
var permText = map[string][2]string{
	PermAccountsBasic:      {"查看账户基本信息（账户类型、币种、状态）", "See basic account information (type, currency, status)"},
	PermAccountsDetail:     {"查看账户详细信息（含卡号前四位和后四位）", "See account details (the card number's first and last four digits)"},
	PermBalances:           {"查询账户余额", "See the balance"},
	PermTransactionsBasic:  {"查看交易记录（金额、时间）", "See transactions (amount, time)"},
	PermTransactionsDetail: {"查看交易详情（摘要和交易后余额）", "See transaction details (description and balance after)"},
	PermCredits:            {"交易记录包括入账（收入）", "Transactions include money in"},
	PermDebits:             {"交易记录包括出账（支出）", "Transactions include money out"},
}

func tr(lang katong.Lang, key string) string {
	t, ok := texts[key]
	if !ok {
		return key
	}
	if lang == katong.EN {
		return t[1]
	}
	return t[0]
}

func permissionTexts(perms []string, lang katong.Lang) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range perms {
		t, ok := permText[p]
		if !ok || seen[p] {
			continue
		}
		seen[p] = true
		s := t[0]
		if lang == katong.EN {
			s = t[1]
		}
		out = append(out, s)
	}
	return out
}

func bankName(b katong.Bank, lang katong.Lang) string {
	if lang == katong.EN && b.NameEN != "" {
		return b.NameEN
	}
	return b.Name
}
