// Package katong holds the domain of the Katong balance service: banks,
// customers, accounts, cards, money, the error vocabulary shared by every
// channel, and the validation and masking rules. It imports only the
// standard library; stores, channels and the wallet live in subpackages and
// speak in these types.
package katong

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable machine-readable error code. Channels translate codes to
// HTTP statuses, spoken prompts or CLI messages, each in exactly one place.
// New codes are added only at the end of the list.
type Code string

// The product's error vocabulary (PRODUCT.md §3).
const (
	EAbnormal       Code = "ACCOUNT_ABNORMAL"
	ENetwork        Code = "NETWORK_ERROR"
	ENotFound       Code = "ACCOUNT_NOT_FOUND"
	ERateLimited    Code = "RATE_LIMITED"
	ECrossBank      Code = "CROSS_BANK_DENIED"
	EClientOutdated Code = "CLIENT_OUTDATED"
	EInvalid        Code = "INVALID_INPUT"
	EUnauthorized   Code = "UNAUTHENTICATED"
	EForbidden      Code = "FORBIDDEN"
	EInternal       Code = "INTERNAL"
	// Ledger and protocol codes.
	EInsufficient Code = "INSUFFICIENT_FUNDS"
	EConflict     Code = "IDEMPOTENCY_CONFLICT" // same key in flight (409)
	EKeyReused    Code = "IDEMPOTENCY_MISMATCH" // same key, different request (422)
	ELocked       Code = "LOCKED"               // too many wrong secrets; shown to card checks as ENotFound
	ETooLarge     Code = "REQUEST_TOO_LARGE"
	EClosed       Code = "ACCOUNT_CLOSED"
)

// Error is the one error type of the domain. Message is for logs and
// developers; people see Text(Code, lang) plus the details carried here.
type Error struct {
	Code       Code
	Field      string        // the offending input field, for EInvalid
	Message    string        // developer detail; never shown for EInternal
	RetryAfter time.Duration // for ERateLimited, ELocked, ENetwork
	Err        error         // wrapped cause, if any
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " " + e.Field
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the code and a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EInvalid error naming the field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: EInvalid, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of err: the Code of the first *Error in its
// chain, "" for nil, and EInternal for any other error.
func ErrorCode(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return EInternal
}

// AsError returns the *Error in err's chain, or an EInternal wrapping err.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: EInternal, Err: err}
}

// Lang is a display language: "zh" (default) or "en".
type Lang string

const (
	ZH Lang = "zh"
	EN Lang = "en"
)

// ParseLang maps a query value or Accept-Language to a Lang, zh by default.
func ParseLang(s string) Lang {
	if len(s) >= 2 && (s[:2] == "en" || s[:2] == "EN") {
		return EN
	}
	return ZH
}

var texts = map[Code][2]string{
	EAbnormal:       {"账户异常，请联系银行客服", "Account abnormal: please contact the bank's support"},
	ENetwork:        {"网络异常，请稍后重试或切换网络", "Network error: please retry later or switch network"},
	ENotFound:       {"账户不存在，请核对卡号和证件号", "Account not found: please check the card and ID numbers"},
	ERateLimited:    {"查询过于频繁，请稍后再试", "Too many queries: please try again later"},
	ECrossBank:      {"只能向发卡银行查询该卡", "Only the card's issuing bank can be asked"},
	EClientOutdated: {"请更新版本", "Please update the app"},
	EInvalid:        {"输入有误", "Invalid input"},
	EUnauthorized:   {"请先登录", "Please log in"},
	EForbidden:      {"无权执行此操作", "Not allowed"},
	EInternal:       {"系统繁忙，请稍后再试", "System busy: please try again later"},
	EInsufficient:   {"余额不足", "Insufficient funds"},
	EConflict:       {"相同请求正在处理中", "The same request is in progress"},
	EKeyReused:      {"幂等键已用于其他请求", "Idempotency key already used for another request"},
	ELocked:         {"错误次数过多，已暂时锁定", "Too many wrong attempts: temporarily locked"},
	ETooLarge:       {"请求过大", "Request too large"},
	EClosed:         {"账户已销户", "Account closed"},
}

// Text returns the person-facing text of a code in the language.
func Text(code Code, lang Lang) string {
	t, ok := texts[code]
	if !ok {
		t = texts[EInternal]
	}
	if lang == EN {
		return t[1]
	}
	return t[0]
}

// Seconds is a wait in whole seconds, rounded up and at least one, as
// Retry-After, TwiML and the spoken and written waits give it.
func Seconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// WaitText says how long to wait, in the language: "30 秒" / "30 s".
func WaitText(d time.Duration, lang Lang) string {
	secs := Seconds(d)
	if secs >= 120 {
		m := (secs + 59) / 60
		if lang == EN {
			return fmt.Sprintf("%d min", m)
		}
		return fmt.Sprintf("%d 分钟", m)
	}
	if lang == EN {
		return fmt.Sprintf("%d s", secs)
	}
	return fmt.Sprintf("%d 秒", secs)
}
