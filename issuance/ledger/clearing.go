package ledger

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/iso/digit"
	"github.com/cardhost/cardhost/issuance"
)

// The clearing file (docs/ledger.md, "Clearing file"): a text file of
// '|'-separated lines modelled on a scheme's first presentment records,
// one header, detail records, one trailer:
//
//	H|CARDHOST-CLEARING|1|<file reference>|<business date YYYY-MM-DD>
//	D|<type>|<PAN>|<amount>|<currency>|<approval code>|<RRN>|<ARN>|<MCC>|<merchant name>
//	T|<number of D records>
//
// Blank lines and lines starting with '#' are ignored. A file without its
// header or trailer, or whose trailer count differs from its D lines (a
// file cut short), is refused whole. A malformed D line is reported with
// its line number and the others are imported.

// Clearing record types.
const (
	ClearingPurchase = "purchase" // first presentment of a sale or cash
	ClearingRefund   = "refund"   // a credit to the card
	ClearingReversal = "reversal" // takes back a presentment (same ARN)
)

// ClearingRecord is one D line.
type ClearingRecord struct {
	Line         int
	Type         string  // purchase, refund, reversal
	PAN          emv.PAN // never logged: PAN's String masks it
	Amount       int64   // minor units, > 0
	Currency     string  // ISO 4217 alpha
	ApprovalCode string  // field 38 of the authorization ("" when none)
	RRN          string  // field 37 ("" when none)
	// ARN is the acquirer reference number, 23 digits: it identifies the
	// presentment, and with Type the record (a record is applied once).
	ARN      string
	MCC      string
	Merchant string
}

// Key is the record's idempotency key: its type and ARN.
func (r ClearingRecord) Key() string { return r.Type + "|" + r.ARN }

// ClearingFile is a parsed clearing file.
type ClearingFile struct {
	Reference string
	Date      time.Time
	Records   []ClearingRecord
	// Errors are the malformed D lines, skipped.
	Errors []LineError
}

// LineError is one refused line. Its message never holds the PAN.
type LineError struct {
	Line int
	Err  string
}

func (e LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Err) }

// ErrClearingFile is wrapped by the errors of a file refused whole.
var ErrClearingFile = errors.New("clearing file refused")

// clearingVersion is the format version the header names.
const clearingVersion = "1"

// ParseClearing reads a clearing file. A file-level problem is an error
// wrapping ErrClearingFile; malformed records are in the file's Errors.
func ParseClearing(r io.Reader) (*ClearingFile, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	f := &ClearingFile{}
	var header, trailer bool
	details, line := 0, 0
	for sc.Scan() {
		line++
		text := strings.TrimRight(sc.Text(), "\r")
		if strings.TrimSpace(text) == "" || strings.HasPrefix(text, "#") {
			continue
		}
		if trailer {
			return nil, fmt.Errorf("%w: line %d follows the trailer", ErrClearingFile, line)
		}
		fields := strings.Split(text, "|")
		switch fields[0] {
		case "H":
			if header || details > 0 {
				return nil, fmt.Errorf("%w: line %d: a second header", ErrClearingFile, line)
			}
			if len(fields) != 5 || fields[1] != "CARDHOST-CLEARING" || fields[2] != clearingVersion || fields[3] == "" {
				return nil, fmt.Errorf("%w: line %d: the header is H|CARDHOST-CLEARING|1|<reference>|<YYYY-MM-DD>", ErrClearingFile, line)
			}
			d, err := time.Parse(time.DateOnly, fields[4])
			if err != nil {
				return nil, fmt.Errorf("%w: line %d: business date %q is not YYYY-MM-DD", ErrClearingFile, line, fields[4])
			}
			header, f.Reference, f.Date = true, fields[3], d
		case "D":
			if !header {
				return nil, fmt.Errorf("%w: line %d: a record before the header", ErrClearingFile, line)
			}
			details++
			rec, err := parseRecord(fields, line)
			if err != nil {
				f.Errors = append(f.Errors, LineError{Line: line, Err: err.Error()})
				continue
			}
			f.Records = append(f.Records, rec)
		case "T":
			if !header {
				return nil, fmt.Errorf("%w: line %d: a trailer before the header", ErrClearingFile, line)
			}
			n, err := strconv.Atoi(strings.Join(fields[1:], "|"))
			if err != nil || len(fields) != 2 {
				return nil, fmt.Errorf("%w: line %d: the trailer is T|<number of D records>", ErrClearingFile, line)
			}
			if n != details {
				return nil, fmt.Errorf("%w: the trailer counts %d records, the file has %d (cut short?)", ErrClearingFile, n, details)
			}
			trailer = true
		default:
			return nil, fmt.Errorf("%w: line %d: unknown record type %q (H, D or T)", ErrClearingFile, line, fields[0])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading clearing file: %w", err)
	}
	if !header || !trailer {
		return nil, fmt.Errorf("%w: no header or no trailer (cut short?)", ErrClearingFile)
	}
	return f, nil
}

// parseRecord reads one D line. Its errors name fields, never values of
// the PAN.
func parseRecord(fields []string, line int) (ClearingRecord, error) {
	if len(fields) != 10 {
		return ClearingRecord{}, fmt.Errorf("%d fields, want 10: D|type|PAN|amount|currency|approval code|RRN|ARN|MCC|merchant", len(fields))
	}
	r := ClearingRecord{Line: line, Type: fields[1], Currency: strings.ToUpper(fields[4]), ApprovalCode: fields[5], RRN: fields[6],
		ARN: fields[7], MCC: fields[8], Merchant: strings.TrimSpace(fields[9])}
	pan := fields[2]
	amount, err := strconv.ParseInt(fields[3], 10, 64)
	switch {
	case r.Type != ClearingPurchase && r.Type != ClearingRefund && r.Type != ClearingReversal:
		return r, fmt.Errorf("type %q is not purchase, refund or reversal", r.Type)
	case len(pan) < 12 || len(pan) > 19 || !digit.All(pan) || !digit.LuhnValid(pan):
		return r, errors.New("the PAN is not 12 to 19 digits with a valid check digit")
	case err != nil || amount <= 0 || amount > issuance.MaxAmount:
		return r, errors.New("amount is not a positive integer of minor units up to 999999999999")
	case !issuance.ValidCurrency(r.Currency):
		return r, fmt.Errorf("currency %q is not an ISO 4217 alpha code", fields[4])
	case r.ApprovalCode != "" && (len(r.ApprovalCode) != 6 || !alnum(r.ApprovalCode)):
		return r, errors.New("the approval code is not 6 letters or digits")
	case r.RRN != "" && (len(r.RRN) != 12 || !alnum(r.RRN)):
		return r, errors.New("the RRN is not 12 letters or digits")
	case len(r.ARN) != 23 || !digit.All(r.ARN):
		return r, errors.New("the acquirer reference number is not 23 digits")
	case len(r.MCC) != 4 || !digit.All(r.MCC):
		return r, errors.New("the MCC is not 4 digits")
	case len(r.Merchant) > 25:
		return r, errors.New("the merchant name is longer than 25 characters")
	}
	r.PAN, r.Amount = emv.PAN(pan), amount
	return r, nil
}

func alnum(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
