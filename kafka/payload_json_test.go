package kafka

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// stdJSON is what NewEvent wrote before AuthorizationData had its own
// encoder: encoding/json with HTML escaping off, without the newline.
func stdJSON(t testing.TB, v any) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func checkSameJSON(t *testing.T, d AuthorizationData) {
	t.Helper()
	want, werr := stdJSON(t, d)
	got, gerr := d.appendJSON(nil)
	if (werr != nil) != (gerr != nil) {
		t.Fatalf("errors differ: encoding/json %v, appendJSON %v", werr, gerr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appendJSON\n%s\nencoding/json\n%s", got, want)
	}
}

// TestAppendJSONMatchesEncoder: the decision payload's own encoder writes
// the bytes encoding/json writes, for the fields set and left out, every
// kind of character a string can hold, and times encoding/json refuses.
func TestAppendJSONMatchesEncoder(t *testing.T) {
	lat := int64(37)
	full := AuthorizationData{
		ID: "auth_01", CardID: "crd_01", TenantID: "ten_01", MTI: "0100", Kind: "authorization", ProcessingCode: "000000",
		Amount: 1000, ApprovedAmount: -5, Currency: "USD", ResponseCode: "00", Reason: "approved", ApprovalCode: "PGP47J",
		MCC: "5411", MerchantID: "M1", MerchantName: `CAFÉ "A&B" <x>`, MerchantCity: "SAN JOSE", TerminalID: "T1",
		AcquirerID: "0001", Country: "US", EntryMode: "051", STAN: "000001", RRN: "633822370538",
		OriginalAuthorizationID: "auth_00", CapturedAmount: 1, ReversedAmount: 2, DecidedBy: "issuer", IssuerLatencyMS: &lat,
		CreatedAt: time.Date(2026, 12, 4, 22, 44, 2, 525216261, time.UTC),
	}
	checkSameJSON(t, full)
	checkSameJSON(t, AuthorizationData{}) // every omitempty field left out, the zero time
	zero := int64(0)
	checkSameJSON(t, AuthorizationData{IssuerLatencyMS: &zero, CreatedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("", -7*3600))})
	for _, s := range []string{"", "plain", "quote\" backslash\\ slash/", "\b\f\n\r\t\x00\x01\x1f\x7f", "<>&", "\u2028\u2029",
		"é€𝄞", "bad \xff\xfe utf-8 \xc3", "\xe2\x80", "mixed \u2028\xff\"\n"} {
		d := full
		d.MerchantName, d.ID, d.Reason = s, s, s
		checkSameJSON(t, d)
	}
	for _, at := range []time.Time{time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2026, 1, 1, 0, 0, 0, 0, time.FixedZone("", 24*3600+60))} {
		d := full
		d.CreatedAt = at
		checkSameJSON(t, d)
	}
}

// FuzzAuthorizationDataJSON holds the decision payload's own encoder
// equal to encoding/json for any strings, amounts and times.
func FuzzAuthorizationDataJSON(f *testing.F) {
	f.Add("auth_01", "CAFÉ \"A&B\"", "\u2028\xff", int64(1000), int64(-1), int64(1764888242525216261), true)
	f.Add("", "", "", int64(0), int64(0), int64(0), false)
	f.Fuzz(func(t *testing.T, a, b, c string, n, m, unixNano int64, latency bool) {
		d := AuthorizationData{ID: a, CardID: b, TenantID: c, MTI: a, Kind: b, ProcessingCode: c, Amount: n, ApprovedAmount: m,
			Currency: a, ResponseCode: b, Reason: c, ApprovalCode: a, MCC: b, MerchantID: c, MerchantName: a, MerchantCity: b,
			TerminalID: c, AcquirerID: a, Country: b, EntryMode: c, STAN: a, RRN: b, OriginalAuthorizationID: c,
			CapturedAmount: m, ReversedAmount: n, DecidedBy: a, CreatedAt: time.Unix(0, unixNano).UTC()}
		if latency {
			d.IssuerLatencyMS = &n
		}
		checkSameJSON(t, d)
	})
}

func BenchmarkAuthorizationDataJSON(b *testing.B) {
	lat := int64(37)
	d := AuthorizationData{ID: "auth_01M91KN5AXDQ9GQQ9Q5Y9N7DDR", CardID: "crd_01M91KMDWHHSJ2P4ZMTGGZR6Q3", TenantID: "ten_01M91KMDNJ5FWBJM9BEK0WZE67",
		MTI: "0100", Kind: "authorization", ProcessingCode: "000000", Amount: 1000, ApprovedAmount: 1000, Currency: "USD", ResponseCode: "00",
		Reason: "approved", ApprovalCode: "PGP47J", MCC: "5411", MerchantID: "MERCHANT0000001", MerchantName: "CARDHOST TEST MERCHANT",
		MerchantCity: "SAN JOSE", TerminalID: "TERM0004", AcquirerID: "00000000001", Country: "US", EntryMode: "051", STAN: "370538",
		RRN: "633822370538", DecidedBy: "host", IssuerLatencyMS: &lat, CreatedAt: time.Now().UTC()}
	b.Run("appendJSON", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodePayload(d); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding_json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := stdJSON(b, d); err != nil {
				b.Fatal(err)
			}
		}
	})
}
