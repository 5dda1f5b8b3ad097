package terminal

import (
	"context"
	"fmt"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/iso"
)

// Result is the host's answer to a Txn, read and checked.
type Result struct {
	// Txn is the request.
	Txn *Txn
	// Response is the answer as received.
	Response *iso8583.Message
	// MTI is the answer's MTI.
	MTI string
	// Code is the answer's field 39.
	Code iso.ResponseCode
	// ApprovalCode is field 38 ("" when absent).
	ApprovalCode string
	// Amount is field 4 of the answer (the approved amount on a partial
	// approval), -1 when absent.
	Amount int64
	// Balances is field 54.
	Balances []iso.AdditionalAmount
	// ARPC is the check of tag 91 for chip requests.
	ARPC ARPCCheck
	// Raw is the answer's bytes as received (without the length header).
	Raw []byte
	// Latency is the round trip.
	Latency time.Duration
	// Problems lists where the answer breaks the host interface
	// specification: a wrong response MTI, echoed fields that changed, an
	// approval without approval code, a partial approval of more than was
	// asked, an ARPC that is invalid, or missing where DESIGN.md requires
	// it. Empty for a well-formed answer, whatever its code.
	Problems []string
	// ARPCProblem is the entry of Problems about the ARPC ("" when none).
	ARPCProblem string
	// MAC is the check of the answer's MAC (fields 64/128) under the
	// terminal's ZAK; MACProblem the entry of Problems about it (an
	// invalid MAC, or none on the answer to a MACed request).
	MAC        MACStatus
	MACProblem string
}

// OK reports whether the answer is well-formed (no Problems).
func (r *Result) OK() bool { return len(r.Problems) == 0 }

// Do sends tx on the connection, waits for its answer and checks it (see
// Result.Problems). Errors are those of Send: ErrTimeout, ErrClosed, or a
// pack error; an answer with a decline is a Result, not an error.
func (c *Client) Do(ctx context.Context, tx *Txn) (*Result, error) {
	start := time.Now()
	resp, raw, err := c.SendRaw(ctx, tx.Msg)
	lat := time.Since(start)
	if err != nil {
		return nil, err
	}
	r := Evaluate(tx, resp)
	r.Raw, r.Latency = raw, lat
	if r.MAC, r.MACProblem = tx.checkMAC(raw); r.MACProblem != "" {
		r.Problems = append(r.Problems, r.MACProblem)
	}
	return r, nil
}

// EchoFields are the request fields a host's answer repeats (the host's
// list, docs/iso8583.md section 6.1): what a BareServer echoes.
var EchoFields = [...]int{
	iso.FieldPAN, iso.FieldProcessingCode, iso.FieldAmount, iso.FieldTransmissionTime,
	iso.FieldSTAN, iso.FieldLocalTime, iso.FieldLocalDate, iso.FieldAcquirerID,
	iso.FieldRRN, iso.FieldTerminal, iso.FieldMerchant, iso.FieldCurrency,
	iso.FieldNetworkCode, iso.FieldOriginalData,
}

// echoChecked are the request fields an answer must repeat unchanged
// (docs/iso8583.md section 6.1; field 4 is checked separately).
var echoChecked = [...]int{
	iso.FieldPAN, iso.FieldProcessingCode, iso.FieldSTAN, iso.FieldAcquirerID,
	iso.FieldRRN, iso.FieldTerminal, iso.FieldMerchant, iso.FieldCurrency, iso.FieldOriginalData,
}

// Evaluate reads resp as the answer to tx and checks it.
func Evaluate(tx *Txn, resp *iso8583.Message) *Result {
	r := &Result{Txn: tx, Response: resp, Amount: -1}
	r.MTI, _ = resp.GetMTI()
	code, _ := resp.GetString(iso.FieldResponseCode)
	r.Code = iso.ResponseCode(code)
	r.ApprovalCode, _ = resp.GetString(iso.FieldApprovalCode)
	problem := func(format string, args ...any) { r.Problems = append(r.Problems, fmt.Sprintf(format, args...)) }

	if want, _ := iso.ResponseMTI(tx.MTI); r.MTI != want {
		problem("answer MTI %s, want %s", r.MTI, want)
	}
	if !r.Code.Known() {
		problem("response code %q is not in the table", code)
	}
	for _, id := range echoChecked {
		sent, _ := tx.Msg.GetString(id)
		got, _ := resp.GetString(id)
		if sent != "" && got != sent && !(id == iso.FieldPAN && got == "") {
			problem("field %d not echoed unchanged", id)
		}
	}
	if v, err := resp.GetString(iso.FieldAmount); err == nil && v != "" {
		if a, ok := iso.ParseAmount(v); ok {
			r.Amount = a
		}
	}
	if v, err := resp.GetString(iso.FieldAdditionalAmounts); err == nil && v != "" {
		b, err := iso.ParseAdditionalAmounts(v)
		if err != nil {
			problem("field 54 unreadable: %v", err)
		}
		r.Balances = b
	}
	cardRequest := false
	switch iso.BaseMTI(tx.MTI) {
	case iso.MTIAuthorizationRequest, iso.MTIFinancialRequest:
		cardRequest = true
	}
	if cardRequest && r.Code.Approved() && r.ApprovalCode == "" {
		problem("approval (%s) without approval code (38)", r.Code)
	}
	if cardRequest && r.Code == iso.PartialApproval && (r.Amount <= 0 || r.Amount >= tx.Amount) {
		problem("partial approval of %d for a request of %d", r.Amount, tx.Amount)
	}
	if cardRequest && r.Code == iso.Approved && r.Amount >= 0 && r.Amount != tx.Amount {
		problem("approval of %d for a request of %d", r.Amount, tx.Amount)
	}
	if tx.Chip != nil && cardRequest {
		f55, _ := resp.GetBytes(iso.FieldICC)
		r.ARPC = tx.Chip.CheckARPC(r.Code, f55)
		switch {
		case r.ARPC.Status == ARPCInvalid:
			problem("ARPC invalid: %s", r.ARPC.Detail)
			r.ARPCProblem = r.Problems[len(r.Problems)-1]
		case r.ARPC.Status == ARPCAbsent && ARPCExpected(r.Code) && !tx.Chip.Tampered:
			problem("no ARPC (tag 91) with response code %s to a chip request", r.Code)
			r.ARPCProblem = r.Problems[len(r.Problems)-1]
		}
	}
	return r
}
