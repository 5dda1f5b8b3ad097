package terminal

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/iso"
)

// Decision summarises the result in one line for people (termsim auth):
// "decision: approved, 00 (approved), approval code ...", then the approved
// amount of a partial approval, balances and the ARPC's status.
func (r *Result) Decision() string {
	verdict := "declined"
	if r.Code.Approved() {
		verdict = "approved"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "decision: %s, %s (%s)", verdict, r.Code, r.Code.Meaning())
	if r.ApprovalCode != "" {
		fmt.Fprintf(&b, ", approval code %s", r.ApprovalCode)
	}
	if r.Code == iso.PartialApproval && r.Amount >= 0 {
		fmt.Fprintf(&b, ", approved amount %d of %d", r.Amount, r.Txn.Amount)
	}
	for _, bal := range r.Balances {
		kind := "ledger"
		if bal.AmountType == iso.AmountTypeAvailable {
			kind = "available"
		}
		fmt.Fprintf(&b, ", %s balance %d (currency %s)", kind, bal.Amount, bal.Currency)
	}
	if r.Txn.Chip != nil {
		arpc := string(r.ARPC.Status)
		if arpc == "" {
			arpc = "not checked"
		}
		fmt.Fprintf(&b, ", ARPC %s", arpc)
		if r.ARPC.Detail != "" {
			fmt.Fprintf(&b, " (%s)", r.ARPC.Detail)
		}
	}
	if r.MAC == MACValid || r.MAC == MACInvalid || r.Txn.MAC == MACRight {
		fmt.Fprintf(&b, ", MAC %s", r.MAC)
	}
	return b.String()
}

// WriteFields lists a message's fields to w, one a line, without card
// secrets: the PAN masked, track 2, PIN block, CVV2 and CAVV redacted,
// field 55 as its tags.
func WriteFields(w io.Writer, m *iso8583.Message) {
	fields := m.GetFields()
	ids := make([]int, 0, len(fields))
	for id := range fields {
		if id > 1 {
			ids = append(ids, id)
		}
	}
	sort.Ints(ids)
	for _, id := range ids {
		name := ""
		if d, ok := iso.Lookup(id); ok {
			name, _, _ = strings.Cut(d.Name, " (")
		}
		fmt.Fprintf(w, "   %3d  %-36s %s\n", id, trunc(name, 36), safeValue(m, id))
	}
}

func trunc(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "."
}

// safeValue renders field id of m for printing.
func safeValue(m *iso8583.Message, id int) string {
	switch id {
	case iso.FieldICC:
		b, _ := m.GetBytes(id)
		return describeICC(b)
	}
	v, _ := m.GetString(id)
	switch id {
	case iso.FieldPAN:
		return emv.MaskPAN(v)
	case iso.FieldTrack2, iso.FieldPINBlock:
		return "[redacted]"
	case iso.FieldPrivateData:
		pd, err := iso.ParsePrivateData(v)
		if err != nil {
			return "[unreadable]"
		}
		parts := make([]string, 0, len(pd))
		for _, e := range pd {
			switch e.Tag {
			case iso.ElementECI, iso.ElementPartialApproval:
				parts = append(parts, e.Tag+"="+e.Value)
			default:
				parts = append(parts, e.Tag+"=[redacted]")
			}
		}
		return strings.Join(parts, " ")
	case iso.FieldResponseCode:
		return v + " " + iso.ResponseCode(v).Meaning()
	}
	return v
}

// describeICC lists field 55's tags; tag 91 (the issuer's ARPC, not a
// secret) is shown in full, values of card data tags never.
func describeICC(b []byte) string {
	l, err := tlv.Decode(b)
	if err != nil {
		return fmt.Sprintf("[%d bytes, not BER-TLV]", len(b))
	}
	parts := make([]string, 0, len(l))
	for _, t := range l {
		if t.Tag == tlv.TagIssuerAuthenticationData {
			parts = append(parts, "91="+emv.EncodeHex(t.Value))
			continue
		}
		parts = append(parts, fmt.Sprintf("%s(%d)", t.Tag, len(t.Value)))
	}
	return strings.Join(parts, " ")
}
