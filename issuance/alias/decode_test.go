package alias

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// Test types named as the table names them (alias.Types is keyed by the
// reflect name package.Type), so the tests use the package's own name.
type testAddress struct {
	Line1 string `json:"line1"`
	Line2 string `json:"line2,omitempty"`
}

type testCard struct {
	Currency  string          `json:"currency"`
	ProductID string          `json:"product_id"`
	Amount    int64           `json:"amount"`
	Shipping  *testAddress    `json:"shipping_address"`
	Addresses []testAddress   `json:"addresses"`
	Metadata  json.RawMessage `json:"metadata"`
	CardControls
	deferred Deferred
}

// CardControls are the fields the conversions reach, embedded as
// issuance.CardRequest embeds its lifecycle fields.
type CardControls struct {
	CardLimit         *int64        `json:"card_limit,omitempty"`
	SpendingControls  []testControl `json:"spending_controls,omitempty"`
	RiskControls      *testRisk     `json:"risk_controls,omitempty"`
	UsageType         string        `json:"usage_type,omitempty"`
	AutoCancelTrigger string        `json:"auto_cancel_trigger,omitempty"`
	Nickname          string        `json:"nickname,omitempty"`
}

type testControl struct {
	Amount   *int64 `json:"amount,omitempty"`
	Interval string `json:"interval"`
}

type testRisk struct {
	Allow3DS *bool `json:"allow_3ds_transactions,omitempty"`
}

func (c *testCard) Receive(d Deferred) { c.deferred = d }

type embedding struct {
	testCard
	Extra string `json:"extra"`
}

func withTestTypes(t *testing.T) {
	t.Helper()
	saved := Types
	Types = map[string]string{"alias.testCard": "card", "alias.testAddress": "address"}
	t.Cleanup(func() { Types = saved })
}

func TestDecode(t *testing.T) {
	withTestTypes(t)
	for _, tc := range []struct {
		name  string
		body  string
		want  testCard
		slug  string
		field string
		code  string
	}{
		{name: "native names", body: `{"currency":"USD","product_id":"prd_1"}`, want: testCard{Currency: "USD", ProductID: "prd_1"}},
		{name: "aliases", body: `{"card_currency":"USD","card_product_id":"prd_1"}`, want: testCard{Currency: "USD", ProductID: "prd_1"}},
		{name: "nested and in arrays", body: `{"shipping_address":{"address_line1":"a","address_line2":"b"},"addresses":[{"line1":"c"},{"address_line1":"d"}]}`,
			want: testCard{Shipping: &testAddress{Line1: "a", Line2: "b"}, Addresses: []testAddress{{Line1: "c"}, {Line1: "d"}}}},
		{name: "big numbers kept exactly", body: `{"card_currency":"USD","amount":999999999999}`, want: testCard{Currency: "USD", Amount: 999999999999}},
		{name: "metadata keys are data", body: `{"card_currency":"USD","metadata":{"card_currency":"x"}}`, want: testCard{Currency: "USD", Metadata: json.RawMessage(`{"card_currency":"x"}`)}},
		{name: "both names", body: `{"currency":"USD","card_currency":"USD"}`, slug: SlugConflictingFields, field: "card_currency", code: "conflicting"},
		{name: "both names, other case", body: `{"CURRENCY":"USD","card_currency":"USD"}`, slug: SlugConflictingFields, field: "card_currency", code: "conflicting"},
		{name: "two aliases", body: `{"card_product_id":"prd_1","product_code":"prd_1"}`, slug: SlugConflictingFields, field: "product_code", code: "conflicting"},
		{name: "nested conflict", body: `{"addresses":[{"line1":"a","address_line1":"b"}]}`, slug: SlugConflictingFields, field: "addresses[0].address_line1", code: "conflicting"},
		{name: "no equivalent", body: `{"mode_type":"COMBO"}`, slug: SlugValidationFailed, field: "mode_type", code: "no_equivalent"},
		{name: "an alias in the wrong object", body: `{"address_line1":"a"}`, slug: SlugValidationFailed, field: "address_line1", code: "unknown"},
		{name: "unknown", body: `{"colour":"blue"}`, slug: SlugValidationFailed, field: "colour", code: "unknown"},
		{name: "wrong type under an alias", body: `{"card_currency":840}`, slug: SlugValidationFailed, field: "currency", code: "invalid_type"},
		{name: "trailing data", body: `{"currency":"USD"} {}`, slug: SlugMalformedJSON},
		{name: "trailing data after an alias", body: `{"card_currency":"USD"} {"currency":"EUR"}`, slug: SlugMalformedJSON},
		{name: "trailing garbage after an alias", body: `{"card_currency":"USD"}]`, slug: SlugMalformedJSON},
		{name: "malformed with an alias", body: `{"card_currency":"USD",`, slug: SlugMalformedJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got testCard
			err := Decode([]byte(tc.body), &got)
			if tc.slug == "" {
				if err != nil {
					t.Fatal(err)
				}
				gj, _ := json.Marshal(got)
				wj, _ := json.Marshal(tc.want)
				if string(gj) != string(wj) {
					t.Fatalf("decoded %s, want %s", gj, wj)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Slug != tc.slug {
				t.Fatalf("error %v, want slug %s", err, tc.slug)
			}
			if tc.field == "" {
				return
			}
			for _, f := range e.Fields {
				if f.Field == tc.field && f.Code == tc.code && f.Message != "" {
					return
				}
			}
			t.Fatalf("fields %+v, want %s %s", e.Fields, tc.field, tc.code)
		})
	}
}

// A body without any alias is decoded from its own bytes.
func TestRewriteKeepsBodiesWithoutAliases(t *testing.T) {
	withTestTypes(t)
	raw := []byte(`{"currency":"USD", "metadata":{"address_line1":"x"}}`)
	out, _, err := rewrite(raw, reflect.TypeOf(&testCard{}))
	if err != nil || &out[0] != &raw[0] {
		t.Fatalf("rewrite copied a body without aliases (%v)", err)
	}
	// Embedded structs are flattened as encoding/json does; the embedded
	// type's own aliases are not the embedding type's.
	var e embedding
	if err := Decode([]byte(`{"currency":"USD","extra":"x","shipping_address":{"address_line1":"a"}}`), &e); err != nil || e.Shipping == nil || e.Shipping.Line1 != "a" {
		t.Fatalf("embedded: %+v %v", e, err)
	}
}

// FuzzDecode: Decode never panics, and a body it accepts decodes to what
// the standard decoder makes of the rewritten bytes.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"card_currency":"USD"}`, `{"addresses":[{"address_line1":"a"}]}`, `{"currency":"USD","card_currency":"x"}`, `[]`, `{"metadata":{"card_currency":1}}`,
		`{"card_currency":"USD","card_limit":2100.02,"spending_controls":[{"amount":100.03,"interval":"PER_TRANSACTION"}],"risk_controls":{"allow_3ds_transactions":"Y"},"auto_cancel_trigger":"ON_AUTH"}`,
		`{"transaction_limit":"500.00","name":"Vacation card"}`, `{"cardholder_required_fields":{"gender":"MALE","nationality":"SG","phone_number":"86683306","date_of_birth":"1990-01-01"}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		saved := Types
		Types = map[string]string{"alias.testCard": "card", "alias.testAddress": "address"}
		defer func() { Types = saved }()
		var got testCard
		if err := Decode(body, &got); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("a refusal that is not an *Error: %v", err)
			}
			return
		}
		out, _, err := rewrite(body, reflect.TypeOf(&got))
		if err != nil {
			t.Fatal(err)
		}
		var want testCard
		if err := json.Unmarshal(out, &want); err != nil {
			t.Fatal(err)
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if string(gj) != string(wj) {
			t.Fatalf("%s != %s", gj, wj)
		}
	})
}
