package terminal

import (
	"errors"
	"fmt"

	"github.com/cardhost/cardhost/iso"
)

var (
	// ErrTimeout: the host did not answer in time (RequestTimeout or the
	// context's deadline).
	ErrTimeout = errors.New("termsim: no answer in time")
	// ErrClosed: the connection is closed (by Close, by the host, or after
	// a network error); requests in flight on it get no answer.
	ErrClosed = errors.New("termsim: connection closed")
	// ErrCard: card data (a card file, a personalisation record, a
	// CardSpec) is missing or malformed. Messages name the member, never
	// its value.
	ErrCard = errors.New("termsim: invalid card")
	// ErrNoChip: a chip transaction was asked of a card without chip.
	ErrNoChip = errors.New("termsim: card has no chip")
	// ErrATCExhausted: the card's application transaction counter is at
	// its maximum (65535): the chip can make no more cryptograms.
	ErrATCExhausted = errors.New("termsim: ATC exhausted")
	// ErrTransaction: a transaction cannot be built from the options
	// given (for example a PIN asked of a card without one).
	ErrTransaction = errors.New("termsim: invalid transaction")
)

// ResponseError reports an answer that is not the one expected: another
// MTI, or a response code other than approved.
type ResponseError struct {
	// MTI is the answer's MTI.
	MTI string
	// Code is the answer's field 39.
	Code iso.ResponseCode
}

// Error returns e.g. "answered 0810 with 30 (format error)".
func (e *ResponseError) Error() string {
	return fmt.Sprintf("answered %s with %s (%s)", e.MTI, e.Code, e.Code.Meaning())
}
