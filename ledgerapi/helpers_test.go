package ledgerapi_test

import (
	"io"
	"log/slog"
	"strconv"

	"katong"
)

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func itoa(id katong.AccountID) string { return strconv.FormatInt(int64(id), 10) }
