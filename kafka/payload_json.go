package kafka

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// jsonAppender is a payload that writes its own JSON: exactly the bytes
// encoding/json writes for it with HTML escaping off (NewEvent's
// encoder), without reflection. AuthorizationData, one per decision, is
// the hot path's payload (docs/PERFORMANCE.md); TestAppendJSONMatchesEncoder
// and FuzzAuthorizationDataJSON hold the two encodings equal.
type jsonAppender interface {
	appendJSON(dst []byte) ([]byte, error)
}

// appendJSON appends d as encoding/json encodes it (field order, omitempty,
// time as RFC 3339 with nanoseconds, strings escaped as json.Encoder with
// SetEscapeHTML(false) escapes them).
func (d AuthorizationData) appendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, d.ID)
	b = append(b, `,"card_id":`...)
	b = appendJSONString(b, d.CardID)
	b = append(b, `,"tenant_id":`...)
	b = appendJSONString(b, d.TenantID)
	b = append(b, `,"mti":`...)
	b = appendJSONString(b, d.MTI)
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, d.Kind)
	b = append(b, `,"processing_code":`...)
	b = appendJSONString(b, d.ProcessingCode)
	b = append(b, `,"amount":`...)
	b = strconv.AppendInt(b, d.Amount, 10)
	b = append(b, `,"approved_amount":`...)
	b = strconv.AppendInt(b, d.ApprovedAmount, 10)
	b = append(b, `,"currency":`...)
	b = appendJSONString(b, d.Currency)
	b = append(b, `,"response_code":`...)
	b = appendJSONString(b, d.ResponseCode)
	b = append(b, `,"reason":`...)
	b = appendJSONString(b, d.Reason)
	if d.ApprovalCode != "" {
		b = append(b, `,"approval_code":`...)
		b = appendJSONString(b, d.ApprovalCode)
	}
	b = append(b, `,"mcc":`...)
	b = appendJSONString(b, d.MCC)
	b = append(b, `,"merchant_id":`...)
	b = appendJSONString(b, d.MerchantID)
	if d.MerchantName != "" {
		b = append(b, `,"merchant_name":`...)
		b = appendJSONString(b, d.MerchantName)
	}
	if d.MerchantCity != "" {
		b = append(b, `,"merchant_city":`...)
		b = appendJSONString(b, d.MerchantCity)
	}
	b = append(b, `,"terminal_id":`...)
	b = appendJSONString(b, d.TerminalID)
	b = append(b, `,"acquirer_id":`...)
	b = appendJSONString(b, d.AcquirerID)
	b = append(b, `,"country":`...)
	b = appendJSONString(b, d.Country)
	b = append(b, `,"entry_mode":`...)
	b = appendJSONString(b, d.EntryMode)
	b = append(b, `,"stan":`...)
	b = appendJSONString(b, d.STAN)
	b = append(b, `,"rrn":`...)
	b = appendJSONString(b, d.RRN)
	if d.OriginalAuthorizationID != "" {
		b = append(b, `,"original_authorization_id":`...)
		b = appendJSONString(b, d.OriginalAuthorizationID)
	}
	b = append(b, `,"captured_amount":`...)
	b = strconv.AppendInt(b, d.CapturedAmount, 10)
	b = append(b, `,"reversed_amount":`...)
	b = strconv.AppendInt(b, d.ReversedAmount, 10)
	if d.DecidedBy != "" {
		b = append(b, `,"decided_by":`...)
		b = appendJSONString(b, d.DecidedBy)
	}
	if d.IssuerLatencyMS != nil {
		b = append(b, `,"issuer_latency_ms":`...)
		b = strconv.AppendInt(b, *d.IssuerLatencyMS, 10)
	}
	b = append(b, `,"created_at":`...)
	b, err := appendJSONTime(b, d.CreatedAt)
	if err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendJSONTime appends t as encoding/json writes it: its MarshalJSON
// (RFC 3339 with nanoseconds; an error for a year outside 0-9999 or an
// offset RFC 3339 cannot write).
func appendJSONTime(b []byte, t time.Time) ([]byte, error) {
	v, err := t.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("json: error calling MarshalJSON for type time.Time: %w", err)
	}
	return append(b, v...), nil
}

// appendJSONString appends s as a JSON string the way encoding/json does
// without HTML escaping: '"' and '\\' escaped, \b \f \n \r \t by name,
// other control characters as \u00XX, U+2028 and U+2029 as \u2028 and
// \u2029, and each byte of invalid UTF-8 as \ufffd.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
