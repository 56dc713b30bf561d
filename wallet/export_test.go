package wallet

import (
	"katong"
)

// Test hooks for package wallet_test.

// APIPatterns lists the JSON API's route patterns ("GET /wallet/api/v1/cards").
func (w *Wallet) APIPatterns() []string {
	var out []string
	for _, r := range w.apiRoutes() {
		out = append(out, r.pattern)
	}
	return out
}

// CloseIdleConnections drops the idle connections to the banks.
func (w *Wallet) CloseIdleConnections() { w.tr.CloseIdleConnections() }

// BreakerState names the state of a bank's circuit breaker: closed, open, half-open.
func (w *Wallet) BreakerState(bank string) string {
	return w.banks[katong.BankID(bank)].link.breaker.state()
}
