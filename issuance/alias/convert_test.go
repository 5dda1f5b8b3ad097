package alias

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func i64(n int64) *int64 { return &n }

// TestConversions runs each conversion of the table through Decode and,
// for amounts, SetAmounts: what a guide's value becomes, and the refusal
// of each bad value, naming the field as the body sent it.
func TestConversions(t *testing.T) {
	withTestTypes(t)
	yes, no := true, false
	for _, tc := range []struct {
		name     string
		body     string
		currency string // SetAmounts' currency (default USD, 2 decimals)
		want     CardControls
		facts    []Fact
		slug     string
		field    string
		code     string
	}{
		{name: "UQPay amounts in major units", body: `{"card_currency":"USD","card_limit":2100.02,"spending_controls":[{"amount":100.03,"interval":"PER_TRANSACTION"},{"amount":5,"interval":"DAILY"}]}`,
			want: CardControls{CardLimit: i64(210002), SpendingControls: []testControl{{Amount: i64(10003), Interval: "PER_TRANSACTION"}, {Amount: i64(500), Interval: "DAILY"}}}},
		{name: "a whole number is major units too", body: `{"card_currency":"USD","card_limit":2100}`, want: CardControls{CardLimit: i64(210000)}},
		{name: "trailing zeros past the currency's decimals", body: `{"card_currency":"USD","card_limit":100.030}`, want: CardControls{CardLimit: i64(10003)}},
		{name: "a currency without decimals", body: `{"card_currency":"JPY","card_limit":500.00}`, currency: "JPY", want: CardControls{CardLimit: i64(500)}},
		{name: "a currency with three decimals", body: `{"card_currency":"KWD","card_limit":1.5}`, currency: "KWD", want: CardControls{CardLimit: i64(1500)}},
		{name: "null stays null", body: `{"card_currency":"USD","card_limit":null}`, want: CardControls{}},
		{name: "more decimals than the currency has", body: `{"card_currency":"USD","card_limit":2100.005}`, slug: SlugValidationFailed, field: "card_limit", code: "invalid"},
		{name: "more decimals in an array", body: `{"card_currency":"JPY","spending_controls":[{"amount":1.5,"interval":"DAILY"}]}`, currency: "JPY",
			slug: SlugValidationFailed, field: "spending_controls[0].amount", code: "invalid"},
		{name: "a negative amount", body: `{"card_currency":"USD","card_limit":-1}`, slug: SlugValidationFailed, field: "card_limit", code: "invalid"},
		{name: "an exponent", body: `{"card_currency":"USD","spending_controls":[{"amount":1e3,"interval":"DAILY"}]}`, slug: SlugValidationFailed, field: "spending_controls[0].amount", code: "invalid"},
		{name: "an amount as a string", body: `{"card_currency":"USD","card_limit":"2100.02"}`, slug: SlugValidationFailed, field: "card_limit", code: "invalid_type"},
		{name: "too large", body: `{"card_currency":"USD","card_limit":999999999999999999.99}`, slug: SlugValidationFailed, field: "card_limit", code: "out_of_range"},
		{name: "a native body keeps minor units", body: `{"currency":"USD","card_limit":2100.02}`, slug: SlugValidationFailed, field: "card_limit", code: "invalid_type"},
		{name: "a native body's integer is minor units", body: `{"currency":"USD","card_limit":2100}`, want: CardControls{CardLimit: i64(2100)}},

		{name: "Y", body: `{"card_currency":"USD","risk_controls":{"allow_3ds_transactions":"Y"}}`, want: CardControls{RiskControls: &testRisk{Allow3DS: &yes}}},
		{name: "N", body: `{"card_currency":"USD","risk_controls":{"allow_3ds_transactions":"N"}}`, want: CardControls{RiskControls: &testRisk{Allow3DS: &no}}},
		{name: "a boolean in a UQPay body", body: `{"card_currency":"USD","risk_controls":{"allow_3ds_transactions":false}}`, want: CardControls{RiskControls: &testRisk{Allow3DS: &no}}},
		{name: "another word", body: `{"card_currency":"USD","risk_controls":{"allow_3ds_transactions":"yes"}}`, slug: SlugValidationFailed, field: "risk_controls.allow_3ds_transactions", code: "invalid"},
		{name: "lower case", body: `{"card_currency":"USD","risk_controls":{"allow_3ds_transactions":"y"}}`, slug: SlugValidationFailed, field: "risk_controls.allow_3ds_transactions", code: "invalid"},
		{name: "Y in a native body", body: `{"currency":"USD","risk_controls":{"allow_3ds_transactions":"Y"}}`, slug: SlugValidationFailed, field: "risk_controls.allow_3ds_transactions", code: "invalid_type"},

		{name: "a trigger on a NORMAL card is dropped", body: `{"card_currency":"USD","usage_type":"NORMAL","auto_cancel_trigger":"ON_AUTH"}`, want: CardControls{UsageType: "NORMAL"}},
		{name: "a trigger without usage_type is dropped", body: `{"card_currency":"USD","auto_cancel_trigger":"ON_CAPTURE"}`, want: CardControls{}},
		{name: "a trigger on a ONE_TIME card is kept", body: `{"card_currency":"USD","usage_type":"ONE_TIME","auto_cancel_trigger":"ON_AUTH"}`, want: CardControls{UsageType: "ONE_TIME", AutoCancelTrigger: "ON_AUTH"}},
		{name: "an unknown trigger", body: `{"card_currency":"USD","usage_type":"NORMAL","auto_cancel_trigger":"ON_REFUND"}`, slug: SlugValidationFailed, field: "auto_cancel_trigger", code: "invalid"},
		{name: "a native body keeps its trigger", body: `{"currency":"USD","usage_type":"NORMAL","auto_cancel_trigger":"ON_AUTH"}`, want: CardControls{UsageType: "NORMAL", AutoCancelTrigger: "ON_AUTH"}},

		{name: "Pismo's transaction_limit", body: `{"transaction_limit":"500.00"}`, want: CardControls{SpendingControls: []testControl{{Amount: i64(50000), Interval: "PER_TRANSACTION"}}}},
		{name: "transaction_limit null", body: `{"transaction_limit":null}`, want: CardControls{}},
		{name: "transaction_limit as a number", body: `{"transaction_limit":500}`, slug: SlugValidationFailed, field: "transaction_limit", code: "invalid_type"},
		{name: "transaction_limit with a comma", body: `{"transaction_limit":"500,00"}`, slug: SlugValidationFailed, field: "transaction_limit", code: "invalid"},
		{name: "transaction_limit too precise", body: `{"transaction_limit":"0.001"}`, slug: SlugValidationFailed, field: "transaction_limit", code: "invalid"},
		{name: "transaction_limit and spending_controls", body: `{"transaction_limit":"5.00","spending_controls":[]}`, slug: SlugConflictingFields, field: "transaction_limit", code: "conflicting"},
		{name: "Pismo's name", body: `{"name":"Vacation card"}`, want: CardControls{Nickname: "Vacation card"}},

		{name: "UQPay's cardholder fields", body: `{"cardholder_required_fields":{"gender":"MALE","nationality":"SG","phone_number":"86683306","date_of_birth":"1990-01-01"}}`,
			facts: []Fact{{"cardholder_required_fields.date_of_birth", "birth_date", "1990-01-01"}, {"cardholder_required_fields.nationality", "nationality", "SG"}, {"cardholder_required_fields.phone_number", "phone", "86683306"}}},
		{name: "an unknown gender", body: `{"cardholder_required_fields":{"gender":"M"}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.gender", code: "invalid"},
		{name: "an unknown country", body: `{"cardholder_required_fields":{"nationality":"ZZ"}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.nationality", code: "invalid"},
		{name: "a date that is none", body: `{"cardholder_required_fields":{"date_of_birth":"1990-02-30"}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.date_of_birth", code: "invalid"},
		{name: "a phone with letters", body: `{"cardholder_required_fields":{"phone_number":"8668-3306"}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.phone_number", code: "invalid"},
		{name: "a field UQPay does not list", body: `{"cardholder_required_fields":{"email":"a@example.com"}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.email", code: "unknown"},
		{name: "a value that is not a string", body: `{"cardholder_required_fields":{"nationality":1}}`, slug: SlugValidationFailed, field: "cardholder_required_fields.nationality", code: "invalid_type"},
		{name: "not an object", body: `{"cardholder_required_fields":"SG"}`, slug: SlugValidationFailed, field: "cardholder_required_fields", code: "invalid_type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got testCard
			err := Decode([]byte(tc.body), &got)
			if err == nil && len(got.deferred.Amounts) > 0 {
				cur := tc.currency
				if cur == "" {
					cur = "USD"
				}
				if fes := SetAmounts(&got, got.deferred.Amounts, cur); len(fes) > 0 {
					err = &Error{Slug: SlugValidationFailed, Fields: fes}
				}
			}
			if tc.slug == "" {
				if err != nil {
					t.Fatal(err)
				}
				gj, _ := json.Marshal(got.CardControls)
				wj, _ := json.Marshal(tc.want)
				if string(gj) != string(wj) {
					t.Fatalf("decoded %s, want %s", gj, wj)
				}
				if !reflect.DeepEqual(got.deferred.Facts, tc.facts) {
					t.Fatalf("facts %+v, want %+v", got.deferred.Facts, tc.facts)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Slug != tc.slug {
				t.Fatalf("error %v, want slug %s", err, tc.slug)
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

// An unknown currency converts nothing (the request's validation names it),
// and an amount whose field the type lacks is refused.
func TestSetAmountsRefusals(t *testing.T) {
	var c testCard
	if fes := SetAmounts(&c, []Amount{{Field: "card_limit", Sent: "card_limit", Decimal: "1.00"}}, "XYZ"); fes != nil || c.CardLimit != nil {
		t.Fatalf("unknown currency: %+v %v", fes, c.CardLimit)
	}
	fes := SetAmounts(&c, []Amount{{Field: "spending_controls[3].amount", Sent: "x", Decimal: "1"}, {Field: "currency", Sent: "y", Decimal: "1"}}, "USD")
	if len(fes) != 2 || fes[0].Field != "x" || fes[1].Field != "y" {
		t.Fatalf("%+v", fes)
	}
}

// A body whose conversions defer values must go to a type that takes
// them: anything else is the table's mistake, an error that is no refusal.
func TestDeferredNeedsAReceiver(t *testing.T) {
	saved := Types
	Types = map[string]string{"alias.plainCard": "card"}
	t.Cleanup(func() { Types = saved })
	var p plainCard
	err := Decode([]byte(`{"transaction_limit":"5.00"}`), &p)
	var e *Error
	if err == nil || errors.As(err, &e) {
		t.Fatalf("deferred amounts into a type without Receive: %v", err)
	}
	if err := Decode([]byte(`{"spending_controls":[]}`), &p); err != nil {
		t.Fatalf("nothing deferred: %v", err)
	}
}

type plainCard struct {
	SpendingControls []testControl `json:"spending_controls"`
}

func TestCheckFacts(t *testing.T) {
	facts := []Fact{{"f.nationality", "nationality", "SG"}, {"f.date_of_birth", "birth_date", "1990-01-01"}, {"f.phone_number", "phone", "86683306"}}
	for _, tc := range []struct {
		name   string
		record map[string]string
		bad    []string
	}{
		{"a record without the fields", map[string]string{}, nil},
		{"the same", map[string]string{"nationality": "sg", "birth_date": "1990-01-01", "phone": "+6586683306"}, nil},
		{"another nationality", map[string]string{"nationality": "BR"}, []string{"f.nationality"}},
		{"another birth date and phone", map[string]string{"birth_date": "1990-01-02", "phone": "+6586683307"}, []string{"f.date_of_birth", "f.phone_number"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bad []string
			for _, fe := range CheckFacts(facts, tc.record) {
				if fe.Code != "mismatch" || fe.Message == "" {
					t.Fatalf("%+v", fe)
				}
				bad = append(bad, fe.Field)
			}
			if !reflect.DeepEqual(bad, tc.bad) {
				t.Fatalf("mismatches %v, want %v", bad, tc.bad)
			}
		})
	}
	// An E.164 number given with its + is compared whole.
	if fes := CheckFacts([]Fact{{"p", "phone", "+86683306"}}, map[string]string{"phone": "+6586683306"}); len(fes) != 1 {
		t.Fatalf("+86683306 matched +6586683306: %+v", fes)
	}
}
