package postgres

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	"github.com/cardhost/cardhost/host"
	"github.com/cardhost/cardhost/issuance/ledger"
	issuancepg "github.com/cardhost/cardhost/issuance/postgres"
)

// PostgreSQL's binary wire format for the commit's records and events: an
// array of a composite type (array_recv, record_recv), so that PostgreSQL
// reads each column directly instead of parsing a JSON document and
// converting every value from text (docs/PERFORMANCE.md, issue 17).
//
// An array: ndim, has-nulls flag, element type OID, then per dimension its
// length and lower bound, then each element as a 4-byte length and its
// bytes. A composite: its column count, then per column the column type's
// OID and the value as a 4-byte length (-1 for NULL) and its bytes.

// Built-in type OIDs (pg_type.dat); fixed across servers and versions.
const (
	oidBool        = 16
	oidBytea       = 17
	oidInt8        = 20
	oidInt4        = 23
	oidText        = 25
	oidJSON        = 114
	oidTimestamptz = 1184
	oidJSONB       = 3802
)

// wire appends binary values to a buffer. Its composite and array helpers
// leave a 4-byte placeholder and patch it when the element ends.
type wire struct{ b []byte }

func (w *wire) int32(v int32) { w.b = binary.BigEndian.AppendUint32(w.b, uint32(v)) }

// array starts a one-dimensional array of n elements of type elem.
func (w *wire) array(elem uint32, n int) {
	w.int32(1) // ndim
	w.int32(0) // no NULL elements
	w.int32(int32(elem))
	w.int32(int32(n))
	w.int32(1) // lower bound
}

// begin starts a length-prefixed value (an array element) and returns
// where its length goes; end patches it.
func (w *wire) begin() int {
	at := len(w.b)
	w.int32(0)
	return at
}

func (w *wire) end(at int) {
	binary.BigEndian.PutUint32(w.b[at:], uint32(len(w.b)-at-4))
}

// column writes one composite column: its type OID, then the value.
func (w *wire) column(oid uint32, v []byte) {
	w.int32(int32(oid))
	w.int32(int32(len(v)))
	w.b = append(w.b, v...)
}

func (w *wire) null(oid uint32) {
	w.int32(int32(oid))
	w.int32(-1)
}

// byteaOrNull writes nil as NULL.
func (w *wire) byteaOrNull(b []byte) {
	if b == nil {
		w.null(oidBytea)
		return
	}
	w.column(oidBytea, b)
}

func (w *wire) text(s string) {
	w.int32(oidText)
	w.int32(int32(len(s)))
	w.b = append(w.b, s...)
}

// textOrNull writes "" as NULL.
func (w *wire) textOrNull(s string) {
	if s == "" {
		w.null(oidText)
		return
	}
	w.text(s)
}

func (w *wire) bool(v bool) {
	w.int32(oidBool)
	w.int32(1)
	if v {
		w.b = append(w.b, 1)
	} else {
		w.b = append(w.b, 0)
	}
}

// int8OrNull writes 0 as NULL.
func (w *wire) int8OrNull(v int64) {
	if v == 0 {
		w.null(oidInt8)
		return
	}
	w.int8(v)
}

func (w *wire) int8(v int64) {
	w.int32(oidInt8)
	w.int32(8)
	w.b = binary.BigEndian.AppendUint64(w.b, uint64(v))
}

func (w *wire) int4(v int32) {
	w.int32(oidInt4)
	w.int32(4)
	w.int32(v)
}

// timestamptz writes t rounded to PostgreSQL's microseconds, as its text
// input rounds it.
func (w *wire) timestamptz(t time.Time) {
	w.int32(oidTimestamptz)
	w.int32(8)
	w.b = binary.BigEndian.AppendUint64(w.b, uint64(pgMicros(t)))
}

func pgMicros(t time.Time) int64 {
	return t.Unix()*1000000 + (int64(t.Nanosecond())+500)/1000 - issuancepg.EpochMicros
}

func (w *wire) timestamptzOrNull(t *time.Time) {
	if t == nil {
		w.null(oidTimestamptz)
		return
	}
	w.timestamptz(*t)
}

// jsonb writes a JSON document as jsonb's binary form: version 1, then
// the text.
func (w *wire) jsonb(doc []byte) {
	w.int32(oidJSONB)
	w.int32(int32(len(doc) + 1))
	w.b = append(w.b, 1)
	w.b = append(w.b, doc...)
}

// itemColumns is ch_commit_item's column count (migration 0075).
const itemColumns = 26

// appendItems appends the decisions as the binary array of
// ch_commit_item that ch_commit_group's p_items reads: item idx is the
// decision's 1-based position; the card's guard and new state; the
// original's update (captures, reversals, matched advices); the money
// (funded cards only: NULL for LIMIT ones). types are the row types' OIDs.
func appendItems(w *wire, types commitTypeOIDs, cs []*host.Commit) error {
	w.array(types.items, len(cs))
	for i, c := range cs {
		at := w.begin()
		w.int32(itemColumns)
		w.int4(int32(i + 1))
		w.textOrNull(c.CardID)
		w.int8(c.CardVersion)
		s := c.State
		w.bool(s != nil)
		if s != nil {
			spend := s.Spend
			if spend == nil {
				spend = map[string]host.Counter{}
			}
			b, err := json.Marshal(spend)
			if err != nil {
				return fmt.Errorf("encoding spend counters: %w", err)
			}
			w.jsonb(b)
			w.int8(s.TotalSpent)
			w.int4(int32(s.LastATC))
			w.int4(int32(s.PINTries))
			w.int4(int32(s.CVV2Tries))
			w.timestamptzOrNull(s.UsedAt)
		} else {
			w.null(oidJSONB)
			w.int8(0)
			w.int4(0)
			w.int4(0)
			w.int4(0)
			w.null(oidTimestamptz)
		}
		if c.Status != "" {
			w.text(string(c.Status))
			w.text(c.StatusReason)
		} else {
			w.null(oidText)
			w.text("")
		}
		w.text(c.Record.MatchKey)
		if o := c.Original; o != nil {
			w.text(o.ID)
			w.int8(o.Version)
			w.text(string(o.Status))
			w.int8(o.Held)
			w.int8(o.CapturedAmount)
			w.int8(o.ReversedAmount)
			if o.HoldID != "" { // a funded card's authorization: its hold as the decision leaves it
				w.text(o.HoldID)
				w.int8(o.HoldAmount)
				w.timestamptzOrNull(o.HoldExpiresAt)
			} else { // NULL leaves the columns as they are
				w.null(oidText)
				w.null(oidInt8)
				w.null(oidTimestamptz)
			}
			w.int8OrNull(o.Cleared)
		} else {
			for _, oid := range [...]uint32{oidText, oidInt8, oidText, oidInt8, oidInt8, oidInt8, oidText, oidInt8, oidTimestamptz, oidInt8} {
				w.null(oid)
			}
		}
		if len(c.Transfers) > 0 {
			w.int32(int32(types.transfers))
			tat := w.begin()
			appendTransfers(w, types.transfer, c.Transfers)
			w.end(tat)
		} else {
			w.null(types.transfers)
		}
		w.textOrNull(c.FundsAccount)
		w.int8OrNull(c.FundsBelow)
		w.end(at)
	}
	return nil
}

// transferColumns is ch_transfer's column count (migration 0075).
const transferColumns = 15

// appendTransfers appends ts as a binary array of ch_transfer (typ), the
// row type ch_ledger_apply_transfers reads: ledger.Transfer's fields in
// the order of its JSON, an absent optional one NULL (a zero CreatedAt
// too: the ledger stamps the commit's time).
func appendTransfers(w *wire, typ uint32, ts []ledger.Transfer) {
	w.array(typ, len(ts))
	for _, t := range ts {
		at := w.begin()
		w.int32(transferColumns)
		w.text(t.ID)
		w.text(t.TenantID)
		w.text(string(t.Kind))
		w.text(t.Debit)
		w.text(t.Credit)
		w.int8(t.Amount)
		w.text(t.Currency)
		w.bool(t.Pending)
		w.textOrNull(t.PendingID)
		w.bool(t.Forced)
		w.timestamptzOrNull(t.ExpiresAt)
		w.textOrNull(t.CardID)
		w.textOrNull(t.AuthorizationID)
		w.textOrNull(t.Reference)
		if t.CreatedAt.IsZero() {
			w.null(oidTimestamptz)
		} else {
			w.timestamptz(t.CreatedAt)
		}
		w.end(at)
	}
}

// appendRecords appends records as the binary array of authorizations
// rows that ch_commit_group's p_records reads (migration 0075): every
// column of the table, in its order. typ is the authorizations row type's
// OID in the connection's schema.
func appendRecords(w *wire, typ uint32, records []*host.Authorization) error {
	w.array(typ, len(records))
	for _, a := range records {
		at := w.begin()
		if err := appendRecord(w, a); err != nil {
			return err
		}
		w.end(at)
	}
	return nil
}

// recordColumns is the number of columns of authorizations that
// appendRecord writes; TestRecordColumnsAreTheTables compares it, and
// their names, with the table.
const recordColumns = 43

func appendRecord(w *wire, a *host.Authorization) error {
	applied := a.Applied
	if applied == nil {
		applied = []host.Applied{}
	}
	appliedJSON, err := json.Marshal(applied)
	if err != nil {
		return fmt.Errorf("encoding applied counters: %w", err)
	}
	w.int32(recordColumns)
	w.text(a.ID)
	w.textOrNull(a.TenantID)
	w.textOrNull(a.CardID)
	w.text(a.Kind.String())
	w.text(a.MTI)
	w.text(a.ProcessingCode)
	w.int8(a.Amount)
	w.text(a.Currency)
	w.int8(a.CardAmount)
	w.int8(a.ApprovedAmount)
	w.text(string(a.Code))
	w.text(string(a.Reason))
	w.text(a.ApprovalCode)
	w.text(a.AcquirerID)
	w.text(a.Terminal)
	w.text(a.Merchant)
	w.text(a.Acceptor)
	w.text(a.STAN)
	w.text(a.RRN)
	w.text(a.TransmissionTime)
	w.text(a.MCC)
	w.text(a.Country)
	w.text(a.EntryMode)
	w.text(a.ECI)
	w.textOrNull(a.OriginalID)
	w.text(string(a.Status))
	w.int8(a.Held)
	w.int8(a.CapturedAmount)
	w.int8(a.ReversedAmount)
	w.jsonb(appliedJSON)
	w.text(a.MatchKey)
	w.byteaOrNull(a.Fingerprint)
	w.byteaOrNull(a.ResponseICC)
	if a.Balances == nil {
		w.null(oidJSONB)
	} else {
		b, err := json.Marshal(a.Balances)
		if err != nil {
			return fmt.Errorf("encoding balances: %w", err)
		}
		w.jsonb(b)
	}
	w.timestamptz(a.ReceivedAt)
	w.timestamptz(a.DecidedAt)
	w.int8(1) // version
	w.textOrNull(a.HoldID)
	w.int8OrNull(a.HoldAmount)
	w.timestamptzOrNull(a.HoldExpiresAt)
	w.null(oidInt8) // cleared_amount: set by clearing, never at the decision
	w.text(decidedBy(a.DecidedBy))
	if ms := a.IssuerLatencyMS(); ms == nil {
		w.null(oidInt4)
	} else {
		w.int4(int32(min(*ms, 1<<31-1)))
	}
	return nil
}

// eventColumns is ch_commit_event's column count (migration 0075).
const eventColumns = 8

// appendCommitEvents appends events as the binary array of ch_commit_event
// that ch_commit_group's p_events reads. typ is ch_commit_event's OID.
// Each event's data is sent as it is: json's binary input is its text.
func appendCommitEvents(w *wire, typ uint32, events []commitEvent) {
	w.array(typ, len(events))
	for _, e := range events {
		at := w.begin()
		w.int32(eventColumns)
		w.int4(int32(e.Idx))
		w.text(e.ID)
		w.text(e.Type)
		w.text(e.Source)
		w.text(e.Subject)
		w.text(e.TenantID)
		w.timestamptz(e.Time)
		if len(e.Data) == 0 {
			w.column(oidJSON, []byte("null"))
		} else {
			w.column(oidJSON, e.Data)
		}
		w.end(at)
	}
}
