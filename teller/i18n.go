package teller

import "katong"

// tr translates the console's words into a language. Error texts come
// from katong.Text; these are the console's own labels and hints.
type tr katong.Lang

// T returns the text of key, or the key itself if there is none.
func (t tr) T(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if katong.Lang(t) == katong.EN {
		return m[1]
	}
	return m[0]
}

var messages = map[string][2]string{
	"console":         {"柜台系统", "Teller console"},
	"nav":             {"主导航", "Main navigation"},
	"nav_inquiry":     {"余额查询", "Balance inquiry"},
	"nav_status":      {"冻结/解冻", "Freeze / unfreeze"},
	"nav_audit":       {"审计日志", "Audit log"},
	"logout":          {"退出登录", "Log out"},
	"skip":            {"跳到主要内容", "Skip to main content"},
	"role_teller":     {"柜员", "Teller"},
	"role_supervisor": {"主管", "Supervisor"},
	"colon":           {"：", ": "},
	"error_title":     {"出错了", "Error"},
	"back_home":       {"返回余额查询", "Back to balance inquiry"},

	"login_title":  {"员工登录", "Staff login"},
	"login_help":   {"仅限本行柜员和主管使用。", "For the bank's tellers and supervisors only."},
	"username":     {"用户名", "Username"},
	"password":     {"密码", "Password"},
	"login_button": {"登录", "Log in"},
	"login_failed": {"用户名或密码错误", "Wrong username or password"},
	"login_next":   {"请重新输入；连续输错多次将被锁定 30 分钟。", "Please try again; repeated failures lock the login for 30 minutes."},

	"inquiry_title":  {"余额查询", "Balance inquiry"},
	"inquiry_help":   {"请客户出示银行卡和居民身份证。输入卡号和证件号码，两者须属于同一张卡。", "Ask the customer for the bank card and the resident ID card. Enter both numbers; they must belong to the same card."},
	"card_number":    {"卡号", "Card number"},
	"card_hint":      {"16–19 位数字，可含空格", "16–19 digits; spaces allowed"},
	"id_number":      {"居民身份证号码", "Resident ID number"},
	"id_hint":        {"18 位，末位可为 X", "18 characters; the last may be X"},
	"query_button":   {"查询余额", "Look up balance"},
	"result_title":   {"客户账户", "Customer account"},
	"holder":         {"户名", "Holder"},
	"available":      {"可用余额", "Available balance"},
	"booked":         {"账面余额", "Booked balance"},
	"as_of":          {"更新于", "As of"},
	"tz":             {"（北京时间）", " (Beijing time)"},
	"receipt_button": {"打印余额单", "Print balance receipt"},
	"refresh":        {"刷新余额", "Refresh balance"},
	"changed":        {"账户状态已变更，请刷新余额。", "The account's status has changed: refresh the balance."},
	"status":         {"账户状态", "Account status"},
	"status_active":  {"正常", "Active"},
	"status_frozen":  {"冻结", "Frozen"},
	"status_closed":  {"已销户", "Closed"},
	"freeze_reason":  {"冻结原因", "Freeze reason"},
	"new_inquiry":    {"新的查询", "New inquiry"},

	"deposit":         {"现金存款", "Cash deposit"},
	"withdraw":        {"现金取款", "Cash withdrawal"},
	"amount":          {"金额（元）", "Amount (yuan)"},
	"amount_hint":     {"如 100 或 100.50", "e.g. 100 or 100.50"},
	"deposit_button":  {"确认存款", "Deposit"},
	"withdraw_button": {"确认取款", "Withdraw"},
	"done_deposit":    {"存款成功", "Deposit done"},
	"done_withdraw":   {"取款成功", "Withdrawal done"},
	"after":           {"交易后余额（账面）", "Booked balance after"},
	"txn":             {"交易流水号", "Transaction no."},
	"at":              {"交易时间", "Time"},
	"replayed":        {"此表单已提交过：以下是首次提交的结果，没有重复记账。", "This form was already submitted: this is the first result; nothing was posted twice."},
	"back_visit":      {"返回客户账户", "Back to the customer account"},
	"try_again":       {"重新填写", "Try again"},

	"freeze":          {"冻结账户", "Freeze account"},
	"unfreeze":        {"解冻账户", "Unfreeze account"},
	"reason":          {"原因", "Reason"},
	"reason_hint":     {"必填，最多 100 字，如“异常交易”", "Required, at most 100 characters, e.g. “abnormal transactions”"},
	"freeze_button":   {"冻结", "Freeze"},
	"unfreeze_button": {"解冻", "Unfreeze"},
	"action":          {"操作", "Action"},
	"status_title":    {"冻结/解冻账户", "Freeze or unfreeze an account"},
	"status_help":     {"按卡号查找账户，无需客户在场；每次操作都记入审计日志。", "Finds the account by card number, without the customer present; every change is audited."},
	"status_button":   {"确认", "Confirm"},
	"status_done":     {"已更新账户状态", "Account status updated"},
	"reason_abnormal": {"异常交易", "异常交易"},
	"reason_fraud":    {"涉嫌电信诈骗", "涉嫌电信诈骗"},
	"reason_request":  {"客户申请", "客户申请"},

	"receipt_title": {"余额单", "Balance receipt"},
	"teller":        {"经办柜员", "Teller"},
	"branch":        {"网点", "Branch"},
	"printed":       {"打印时间", "Printed at"},
	"print":         {"打印", "Print"},
	"print_hint":    {"也可使用浏览器的打印功能（Ctrl+P）。", "Or use the browser's print command (Ctrl+P)."},
	"receipt_note":  {"本单所列为查询时点的余额，仅供参考，不作为存款证明。", "This receipt shows the balance at the time of the inquiry, for information only; it is not a certificate of deposit."},
	"signature":     {"客户签字", "Customer's signature"},

	"audit_title": {"审计日志", "Audit log"},
	"col_no":      {"序号", "No."},
	"col_time":    {"时间", "Time"},
	"col_channel": {"渠道", "Channel"},
	"col_actor":   {"操作人", "Actor"},
	"col_action":  {"操作", "Action"},
	"col_card":    {"卡号", "Card"},
	"col_result":  {"结果", "Result"},
	"col_detail":  {"详情", "Detail"},
	"older":       {"更早的记录", "Older records"},
	"newest":      {"最新记录", "Newest records"},
	"no_records":  {"没有记录。", "No records."},

	"next_notfound":     {"请核对客户出示的银行卡和身份证件后重新输入。", "Check the card and the ID card the customer shows, then enter them again."},
	"next_visit":        {"本次核验已失效，请重新输入卡号和证件号码。", "This check is no longer valid: enter the card and ID numbers again."},
	"next_abnormal":     {"不能办理余额查询和现金业务；请客户致电银行客服 %s。", "No balance or cash can be given: the customer should call the bank's support on %s."},
	"next_wait":         {"请在 %s 后重试。", "Please try again in %s."},
	"next_network":      {"请稍后重试。", "Please try again later."},
	"next_session":      {"未登录或会话已超时（闲置 15 分钟自动退出），请重新登录。", "Not logged in, or the session timed out (15 minutes idle): please log in again."},
	"next_forbidden":    {"此操作仅限主管。", "Only a supervisor may do this."},
	"next_csrf":         {"页面已过期，请返回并重新提交。", "The page has expired: go back and submit it again."},
	"next_insufficient": {"可用余额不足，请核对取款金额。", "The available balance is not enough: check the amount."},
	"next_keyreused":    {"此表单已用于另一笔金额；请返回客户账户页重新填写。", "This form was already used for another amount: fill it in again from the customer account page."},
	"next_conflict":     {"同一笔业务正在处理，请勿重复提交；稍后返回客户账户页查看。", "The same transaction is being processed: do not submit again; check the customer account page shortly."},
	"next_crossbank":    {"该卡不是本行卡，请客户到发卡银行办理。", "This is not a card of this bank: the customer should ask the issuing bank."},
	"next_toolarge":     {"输入过长，请缩短后重试。", "The input is too long: shorten it and try again."},
	"next_internal":     {"请稍后重试；如仍失败，请联系技术支持并提供编号 %s。", "Please try again later; if it keeps failing, call IT support with reference %s."},

	"field_card_number": {"卡号有误：应为 16–19 位数字，且校验位正确。", "Wrong card number: 16–19 digits with a valid check digit."},
	"field_id_number":   {"证件号码有误：应为 18 位，出生日期真实，且校验码正确。", "Wrong ID number: 18 characters, a real birth date and a valid check character."},
	"field_amount":      {"金额有误：应大于 0，最多两位小数，不含符号、空格和逗号。", "Wrong amount: more than 0, at most 2 decimals, no sign, spaces or commas."},
	"field_reason":      {"请填写原因（最多 100 字）。", "Enter a reason (at most 100 characters)."},
	"field_action":      {"请选择冻结或解冻。", "Choose freeze or unfreeze."},
	"field_key":         {"表单已失效，请返回客户账户页重新填写。", "The form is no longer valid: fill it in again from the customer account page."},
	"field_username":    {"请填写用户名和密码。", "Enter the username and the password."},
	"field_before":      {"页码有误。", "Wrong page."},
	"field_other":       {"请检查输入后重试。", "Check the input and try again."},
}
