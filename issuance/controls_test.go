package issuance

import (
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

func TestWindowStart(t *testing.T) {
	at := time.Date(2026, 11, 22, 15, 4, 5, 0, time.UTC) // a Sunday
	for _, tc := range []struct {
		in   Interval
		want time.Time
	}{
		{Daily, time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)},
		{Weekly, time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)}, // Monday
		{Monthly, time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{Yearly, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{AllTime, time.Time{}},
	} {
		t.Run(string(tc.in), func(t *testing.T) {
			if got := tc.in.WindowStart(at); !got.Equal(tc.want) {
				t.Errorf("WindowStart = %v, want %v", got, tc.want)
			}
		})
	}
	monday := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	if got := Weekly.WindowStart(monday); !got.Equal(monday) {
		t.Errorf("Monday midnight belongs to its own week, got %v", got)
	}
}

func TestRiskControlPredicates(t *testing.T) {
	r := RiskControls{AllowedMCC: []string{"5411", "5812"}, BlockedMCC: []string{"5812"}, AllowedCountries: []string{"US", "gb"},
		Channels: Channels{Ecommerce: ptr(false)}, Allow3DSTransactions: ptr(false)}
	for _, tc := range []struct {
		name string
		got  bool
		want bool
	}{
		{"allowed mcc", r.AllowsMCC("5411"), true},
		{"blocked wins over allowed", r.AllowsMCC("5812"), false},
		{"not in allowed list", r.AllowsMCC("7995"), false},
		{"country US (840)", r.AllowsCountry("840"), true},
		{"country GB lower-case (826)", r.AllowsCountry("826"), true},
		{"country FR (250)", r.AllowsCountry("250"), false},
		{"ecommerce off", r.AllowsChannel(ChannelEcommerce), false},
		{"atm unset = on", r.AllowsChannel(ChannelATM), true},
		{"chip unset = on", r.AllowsChannel(ChannelChip), true},
		{"chip off", RiskControls{Channels: Channels{Chip: ptr(false)}}.AllowsChannel(ChannelChip), false},
		{"manual off", RiskControls{Channels: Channels{Manual: ptr(false)}}.AllowsChannel(ChannelManual), false},
		{"3ds off", r.Allows3DS(), false},
		{"empty controls allow any mcc", RiskControls{}.AllowsMCC("7995"), true},
		{"empty controls allow any country", RiskControls{}.AllowsCountry("004"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
}

func TestSpendingControlKeyAndScope(t *testing.T) {
	a := SpendingControl{Amount: ptr(int64(100)), Interval: Daily, MCC: []string{"5812", "5411"}}
	b := SpendingControl{Count: ptr(3), Interval: Daily, MCC: []string{"5411", "5812"}}
	if a.Key() != b.Key() || a.Key() != "DAILY:5411,5812" {
		t.Errorf("keys %q %q should be equal and sorted", a.Key(), b.Key())
	}
	if !a.Applies("5411") || a.Applies("7995") || !(SpendingControl{Interval: Daily}).Applies("7995") {
		t.Error("Applies wrong")
	}
	var v Validator
	ValidateSpendingControls(&v, "spending_controls", []SpendingControl{
		{Interval: "HOURLY", Amount: ptr(int64(1))},
		{Interval: Daily},
		{Interval: PerTransaction, Count: ptr(2)},
		{Interval: Weekly, Amount: ptr(int64(-5)), MCC: []string{"54"}},
	})
	err := v.Err().(*Error)
	want := map[string]bool{"spending_controls[0].interval": true, "spending_controls[1]": true,
		"spending_controls[2].count": true, "spending_controls[3].amount": true, "spending_controls[3].mcc[0]": true}
	if len(err.Fields) != len(want) {
		t.Fatalf("fields = %+v", err.Fields)
	}
	for _, f := range err.Fields {
		if !want[f.Field] {
			t.Errorf("unexpected field error %s", f.Field)
		}
	}
}

func TestCodes(t *testing.T) {
	if n, ok := CurrencyNumeric("EUR"); !ok || n != "978" {
		t.Errorf("EUR = %q %v", n, ok)
	}
	if a, ok := CurrencyAlpha("840"); !ok || a != "USD" {
		t.Errorf("840 = %q %v", a, ok)
	}
	if m, _ := CurrencyMinorUnits("JPY"); m != 0 {
		t.Errorf("JPY minor units = %d", m)
	}
	if m, _ := CurrencyMinorUnits("KWD"); m != 3 {
		t.Errorf("KWD minor units = %d", m)
	}
	if n, ok := CountryNumeric("BR"); !ok || n != "076" {
		t.Errorf("BR = %q %v", n, ok)
	}
	if ValidCountry("XX") || ValidCurrency("ABC") {
		t.Error("unknown codes accepted")
	}
}
