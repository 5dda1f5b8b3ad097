package terminal_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/moov-io/iso8583"

	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
	"github.com/cardhost/cardhost/emv/pinblock"
	"github.com/cardhost/cardhost/emv/tlv"
	"github.com/cardhost/cardhost/iso"
)

func testTerminal(t testing.TB) *terminal.Terminal {
	t.Helper()
	stan := 100
	term, err := terminal.NewTerminal(terminal.TerminalConfig{
		AcquirerID: "123456",
		Now:        func() time.Time { return terminaltest.Date },
		STAN: func() string {
			stan++
			return "000" + itoa(stan)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	return term
}

func itoa(n int) string {
	b := []byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)}
	return string(b)
}

// roundTrip packs and unpacks m with the iso codec, as the host would read it.
func roundTrip(t testing.TB, m *iso8583.Message) *iso8583.Message {
	t.Helper()
	b, err := iso.Pack(m)
	if err != nil {
		t.Fatalf("packing: %v", err)
	}
	u, err := iso.Unpack(b)
	if err != nil {
		t.Fatalf("unpacking: %v", err)
	}
	return u
}

// built builds a transaction and returns it with its message as the host
// reads it.
func built(t *testing.T, build func() (*terminal.Txn, error)) (*terminal.Txn, *iso8583.Message) {
	t.Helper()
	tx, err := build()
	if err != nil {
		t.Fatal(err)
	}
	return tx, roundTrip(t, tx.Msg)
}

func fieldsOf(t testing.TB, m *iso8583.Message, ids ...int) map[int]string {
	out := map[int]string{}
	for _, id := range ids {
		v, _ := m.GetString(id)
		out[id] = v
	}
	return out
}

func TestTerminalRequests(t *testing.T) {
	card := terminaltest.Card(t, "VISA", 18)
	spec := terminaltest.CardSpec(t, "VISA", 18)
	term := testTerminal(t)
	zpk := terminaltest.MustHex(t, terminal.DefaultZPKHex)
	tests := []struct {
		name   string
		build  func() (*terminal.Txn, error)
		mti    string
		want   map[int]string // "" = absent
		chip   bool
		pin    string
		checks func(t *testing.T, m *iso8583.Message)
	}{
		{
			name: "chip purchase with PIN",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 2000, terminal.TxnOptions{Entry: terminal.EntryChip, PIN: "1234"})
			},
			mti: "0100",
			want: map[int]string{2: spec.PAN, 3: "000000", 4: "000000002000", 7: "0621143005", 12: "143005", 13: "0621",
				14: "", 18: "5411", 19: "840", 22: "051", 23: "001", 32: "123456", 35: card.ChipTrack2.Reveal(),
				37: "617214000101", 41: "TERM0001", 42: "MERCHANT0000001", 43: "CARDHOST TEST MERCHANT   SAN JOSE     US", 48: "", 49: "840"},
			chip: true, pin: "1234",
		},
		{
			name: "contactless cash in euros",
			build: func() (*terminal.Txn, error) {
				return term.Cash(card, 5000, terminal.TxnOptions{Entry: terminal.EntryContactless, Currency: "978", MCC: "6011", Country: "276"})
			},
			mti:  "0100",
			want: map[int]string{3: "010000", 4: "000000005000", 18: "6011", 19: "276", 22: "071", 49: "978", 52: ""},
			chip: true,
		},
		{
			name: "magstripe refund",
			build: func() (*terminal.Txn, error) {
				return term.Refund(card, 700, terminal.TxnOptions{Entry: terminal.EntryMagstripe})
			},
			mti:  "0100",
			want: map[int]string{3: "200000", 22: "901", 35: card.Track2.Reveal(), 23: "", 55: ""},
		},
		{
			name: "e-commerce with CVV2, ECI, CAVV and partial approval",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 4999, terminal.TxnOptions{Entry: terminal.EntryEcommerce, CVV2: "123", ECI: "05", CAVV: testCAVV, Partial: true})
			},
			mti:  "0100",
			want: map[int]string{22: "812", 14: "3012", 35: "", 48: "0103123" + "020205" + "0340" + strings.ToUpper(testCAVV) + "0401Y"},
		},
		{
			name: "manual entry, 0200",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 1, terminal.TxnOptions{Entry: terminal.EntryManual, MTI: "0200"})
			},
			mti:  "0200",
			want: map[int]string{22: "012", 14: "3012", 35: ""},
		},
		{
			name: "balance inquiry",
			build: func() (*terminal.Txn, error) {
				return term.BalanceInquiry(card, terminal.TxnOptions{Entry: terminal.EntryChip})
			},
			mti:  "0200",
			want: map[int]string{3: "300000", 4: "000000000000"},
			chip: true,
		},
		{
			name: "advice",
			build: func() (*terminal.Txn, error) {
				return term.Advice(card, 1500, terminal.TxnOptions{Entry: terminal.EntryMagstripe})
			},
			mti:  "0120",
			want: map[int]string{39: "00", 38: "SI0107"},
		},
		{
			name: "field 22 the host does not accept, stripe data",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 100, terminal.TxnOptions{Entry: terminal.EntryMagstripe, Field22: "020"})
			},
			mti:  "0100",
			want: map[int]string{22: "020", 35: card.Track2.Reveal()},
		},
		{
			name: "wrong iCVV in the chip's track 2",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 100, terminal.TxnOptions{WrongTrackCVV: true})
			},
			mti:  "0100",
			chip: true,
			checks: func(t *testing.T, m *iso8583.Message) {
				tr, _ := m.GetString(iso.FieldTrack2)
				if tr == card.ChipTrack2.Reveal() || len(tr) != len(card.ChipTrack2.Reveal()) || tr[:32-3] != card.ChipTrack2.Reveal()[:32-3] {
					t.Errorf("track 2 iCVV not replaced (or more changed)")
				}
			},
		},
		{
			name: "format error on purpose: field 55 that is not TLV",
			build: func() (*terminal.Txn, error) {
				return term.Purchase(card, 100, terminal.TxnOptions{Chip: terminal.ChipTamper{Field55: []byte{0x9F, 0x26, 0x08, 0x01}}})
			},
			mti: "0100",
			checks: func(t *testing.T, m *iso8583.Message) {
				b, _ := m.GetBytes(iso.FieldICC)
				if _, err := tlv.Decode(b); err == nil {
					t.Errorf("field 55 decodes")
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tx, m := built(t, tc.build)
			if mti, _ := m.GetMTI(); mti != tc.mti || tx.MTI != tc.mti {
				t.Errorf("MTI %s (txn %s), want %s", mti, tx.MTI, tc.mti)
			}
			for id, want := range tc.want {
				if got, _ := m.GetString(id); got != want {
					if id == 35 || id == 2 || id == 52 {
						t.Errorf("field %d differs (or is %s when %s expected)", id, presence(got), presence(want))
					} else {
						t.Errorf("field %d = %q, want %q", id, got, want)
					}
				}
			}
			f55, _ := m.GetBytes(iso.FieldICC)
			if tc.chip {
				if tx.Chip == nil || len(f55) == 0 {
					t.Fatal("chip request without field 55")
				}
				l, err := tlv.Decode(f55)
				if err != nil {
					t.Fatal(err)
				}
				tags, _ := l.Map()
				mk, _ := emv.DeriveICCMasterKey(terminaltest.MustHex(t, terminaltest.IMK), spec.PAN, "01")
				cvn, _ := card.CVN()
				if ok, err := emv.VerifyARQC(cvn, mk, tags); !ok || err != nil {
					t.Errorf("ARQC does not verify: %v", err)
				}
				amt, _ := m.GetString(iso.FieldAmount)
				if emv.EncodeHex(tags[tlv.TagAmountAuthorised]) != amt {
					t.Errorf("9F02 %X is not field 4 %s", tags[tlv.TagAmountAuthorised], amt)
				}
				pc, _ := m.GetString(iso.FieldProcessingCode)
				if emv.EncodeHex(tags[tlv.TagTransactionType]) != pc[:2] {
					t.Errorf("9C %X is not field 3's type %s", tags[tlv.TagTransactionType], pc[:2])
				}
			}
			if pb, _ := m.GetString(iso.FieldPINBlock); tc.pin != "" {
				blk, _ := emv.NewTDES(zpk)
				pin, err := pinblock.Decipher(pinblock.FormatAny, blk, terminaltest.MustHex(t, pb), spec.PAN)
				if err != nil || string(pin) != tc.pin {
					t.Errorf("field 52 does not hold the PIN: %v", err)
				}
			}
			if tc.checks != nil {
				tc.checks(t, m)
			}
		})
	}
}

const testCAVV = "0000000000000000000000000123456789abcdef"

func presence(s string) string {
	if s == "" {
		return "absent"
	}
	return "present"
}

func TestTerminalFollowUps(t *testing.T) {
	card := terminaltest.Card(t, "MASTERCARD", 16)
	term := testTerminal(t)
	orig, err := term.Purchase(card, 10000, terminal.TxnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantF90 := "0100" + orig.STAN + "0621143005" + "00000123456" + "00000000000"
	keep := int64(6000)
	tests := []struct {
		name  string
		build func() (*terminal.Txn, error)
		mti   string
		want  map[int]string
	}{
		{"capture", func() (*terminal.Txn, error) { return term.Capture(orig, 8000, "A1B2C3") }, "0220",
			map[int]string{4: "000000008000", 37: orig.RRN, 38: "A1B2C3", 90: wantF90, 41: "TERM0001", 95: ""}},
		{"reversal", func() (*terminal.Txn, error) { return term.Reversal(orig, terminal.ReversalOptions{}) }, "0400",
			map[int]string{4: "000000010000", 37: orig.RRN, 90: wantF90, 95: "", 55: "", 38: ""}},
		{"partial reversal advice", func() (*terminal.Txn, error) {
			return term.Reversal(orig, terminal.ReversalOptions{Advice: true, Keep: &keep})
		}, "0420",
			map[int]string{4: "000000010000", 95: "000000006000000000006000C00000000C00000000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, m := built(t, tc.build)
			if mti, _ := m.GetMTI(); mti != tc.mti {
				t.Errorf("MTI %s, want %s", mti, tc.mti)
			}
			for id, want := range tc.want {
				if got, _ := m.GetString(id); got != want {
					t.Errorf("field %d = %q, want %q", id, got, want)
				}
			}
			if stan, _ := m.GetString(iso.FieldSTAN); stan == orig.STAN {
				t.Error("follow-up reuses the original's STAN")
			}
			od, err := iso.ParseOriginalData(fieldsOf(t, m, 90)[90])
			if err != nil || od.MTI != "0100" || od.STAN != orig.STAN {
				t.Errorf("field 90 = %+v, %v", od, err)
			}
		})
	}
}

func TestRetransmit(t *testing.T) {
	card := terminaltest.Card(t, "VISA", 10)
	term := testTerminal(t)
	orig, err := term.Purchase(card, 1234, terminal.TxnOptions{})
	if err != nil {
		t.Fatal(err)
	}
	first, _ := iso.Pack(orig.Msg)
	same, err := orig.Retransmit(false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := iso.Pack(same.Msg); string(b) != string(first) {
		t.Error("retransmission differs from the original")
	}
	rep, _ := orig.Retransmit(true, nil)
	if b, _ := iso.Pack(rep.Msg); string(b[:4]) != "0101" || string(b[4:]) != string(first[4:]) || rep.MTI != "0101" {
		t.Errorf("repeat is %s... (MTI %s), want 0101 and the same fields", b[:4], rep.MTI)
	}
	changed, _ := orig.Retransmit(false, func(m *iso8583.Message) { _ = m.Field(iso.FieldAmount, "000000009999") })
	if changed.Amount != 9999 || orig.Amount != 1234 {
		t.Errorf("changed amount %d, original %d", changed.Amount, orig.Amount)
	}
	if v, _ := orig.Msg.GetString(iso.FieldAmount); v != "000000001234" {
		t.Errorf("changing the copy changed the original: %s", v)
	}
}

func TestTerminalErrors(t *testing.T) {
	card := terminaltest.Card(t, "VISA", 18)
	spec := terminaltest.CardSpec(t, "VISA", 18)
	spec.CVN, spec.ICCMasterKeyAC, spec.CVV, spec.Track2 = 0, "", "", ""
	bare, err := terminal.NewCard(spec)
	if err != nil {
		t.Fatal(err)
	}
	term := testTerminal(t)
	tests := []struct {
		name  string
		build func() (*terminal.Txn, error)
		err   error
	}{
		{"chip without chip", func() (*terminal.Txn, error) {
			return term.Purchase(bare, 1, terminal.TxnOptions{Entry: terminal.EntryChip})
		}, terminal.ErrNoChip},
		{"magstripe without track", func() (*terminal.Txn, error) {
			return term.Purchase(bare, 1, terminal.TxnOptions{Entry: terminal.EntryMagstripe})
		}, terminal.ErrTransaction},
		{"negative amount", func() (*terminal.Txn, error) { return term.Purchase(card, -1, terminal.TxnOptions{}) }, terminal.ErrTransaction},
		{"bad currency", func() (*terminal.Txn, error) { return term.Purchase(card, 1, terminal.TxnOptions{Currency: "EUR"}) }, terminal.ErrTransaction},
		{"reversal MTI", func() (*terminal.Txn, error) { return term.Purchase(card, 1, terminal.TxnOptions{MTI: "0400"}) }, terminal.ErrTransaction},
		{"no card", func() (*terminal.Txn, error) { return term.Purchase(nil, 1, terminal.TxnOptions{}) }, terminal.ErrTransaction},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.build(); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
		})
	}
	for _, cfg := range []terminal.TerminalConfig{{TerminalID: "TOOLONGID"}, {AcquirerID: "12AB"}, {Currency: "EUR"}, {ZPK: []byte{1, 2}}, {PINFormat: pinblock.Format4}} {
		if _, err := terminal.NewTerminal(cfg); !errors.Is(err, terminal.ErrTransaction) {
			t.Errorf("NewTerminal(%+v) = %v", cfg, err)
		}
	}
}

func TestDo(t *testing.T) {
	approve := func(*iso8583.Message) iso.ResponseCode { return iso.Approved }
	term := testTerminal(t)
	for name, card := range terminaltest.RegistryCards(t) {
		t.Run(name, func(t *testing.T) {
			c := terminaltest.Dial(t, terminaltest.IssuerHost(t, approve))
			tx, err := term.Purchase(card, 1000, terminal.TxnOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Do(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != iso.Approved || r.ARPC.Status != terminal.ARPCValid || !r.OK() || r.ApprovalCode != "A1B2C3" || r.Latency <= 0 {
				t.Fatalf("result %+v", r)
			}
		})
	}
	card := terminaltest.Card(t, "VISA", 18)
	tests := []struct {
		name     string
		decide   func(*iso8583.Message) iso.ResponseCode
		opts     terminal.TxnOptions
		code     iso.ResponseCode
		arpc     terminal.ARPCStatus
		problems string
	}{
		{"decline keeps its ARPC", func(*iso8583.Message) iso.ResponseCode { return iso.InsufficientFunds }, terminal.TxnOptions{}, iso.InsufficientFunds, terminal.ARPCValid, ""},
		{"tampered ARQC gets none", func(*iso8583.Message) iso.ResponseCode { return iso.CryptographicFailure }, terminal.TxnOptions{Chip: terminal.ChipTamper{ARQC: true}}, iso.CryptographicFailure, terminal.ARPCAbsent, ""},
		{"magstripe has no ARPC to check", approve, terminal.TxnOptions{Entry: terminal.EntryMagstripe}, iso.Approved, terminal.ARPCNotChecked, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := terminaltest.Dial(t, terminaltest.IssuerHost(t, tc.decide))
			tx, err := term.Purchase(card, 1000, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			r, err := c.Do(context.Background(), tx)
			if err != nil {
				t.Fatal(err)
			}
			if r.Code != tc.code || r.ARPC.Status != tc.arpc || strings.Join(r.Problems, ";") != tc.problems {
				t.Fatalf("code %s ARPC %+v problems %q", r.Code, r.ARPC, r.Problems)
			}
		})
	}
	t.Run("approval without ARPC or approval code is a problem", func(t *testing.T) {
		// A BareServer answers 00 without 38 or 91.
		c := terminaltest.Dial(t, terminaltest.EchoHost(t))
		tx, _ := term.Purchase(card, 1000, terminal.TxnOptions{})
		r, err := c.Do(context.Background(), tx)
		if err != nil {
			t.Fatal(err)
		}
		p := strings.Join(r.Problems, ";")
		if r.Code != iso.Approved || !strings.Contains(p, "without approval code") || !strings.Contains(p, "no ARPC") {
			t.Fatalf("problems %q", p)
		}
	})
}
