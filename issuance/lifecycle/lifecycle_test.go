package lifecycle

import (
	"slices"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func TestCounter(t *testing.T) {
	rotated := t0.Add(30 * time.Hour)
	for _, tc := range []struct {
		name     string
		f        Fields
		now      time.Time
		want     int64
		since    time.Time
		accepted []int64
	}{
		{"rotate call only, never called", Fields{}, t0.Add(100 * time.Hour), 0, t0, []int64{0}},
		{"first interval", Fields{CVVRotationHours: 24}, t0.Add(23 * time.Hour), 0, t0, []int64{0}},
		{"second interval, in the grace", Fields{CVVRotationHours: 24}, t0.Add(24*time.Hour + 5*time.Minute), 1, t0.Add(24 * time.Hour), []int64{1, 0}},
		{"second interval, past the grace", Fields{CVVRotationHours: 24}, t0.Add(24*time.Hour + CVVGrace), 1, t0.Add(24 * time.Hour), []int64{1}},
		{"after a rotate call", Fields{CVVRotationHours: 24, CVVRotation: 3, CVVRotatedAt: &rotated}, rotated.Add(time.Minute), 3, rotated, []int64{3, 2}},
		{"intervals count from the rotate call", Fields{CVVRotationHours: 24, CVVRotation: 3, CVVRotatedAt: &rotated}, rotated.Add(49 * time.Hour), 5, rotated.Add(48 * time.Hour), []int64{5}},
		{"clock before the anchor", Fields{CVVRotationHours: 1}, t0.Add(-time.Hour), 0, t0, []int64{0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n, since := tc.f.Counter(t0, tc.now)
			if n != tc.want || !since.Equal(tc.since) {
				t.Fatalf("counter %d since %v, want %d since %v", n, since, tc.want, tc.since)
			}
			if got := tc.f.Accepted(t0, tc.now); !slices.Equal(got, tc.accepted) {
				t.Fatalf("accepted %v, want %v", got, tc.accepted)
			}
		})
	}
}

func TestRotate(t *testing.T) {
	f := Fields{CVVRotationHours: 24}
	now := t0.Add(50 * time.Hour) // counter 2 in force
	if n := f.Rotate(t0, now); n != 3 || !f.Dynamic || f.CVVRotation != 3 || !f.CVVRotatedAt.Equal(now) {
		t.Fatalf("rotate: %d %+v", n, f)
	}
	if n, _ := f.Counter(t0, now.Add(23*time.Hour)); n != 3 {
		t.Fatalf("counter a day less an hour after the rotate call: %d", n)
	}
	if w := Window(12345); w != "2345" {
		t.Fatalf("window %s", w)
	}
	if w := Window(7); w != "0007" {
		t.Fatalf("window %s", w)
	}
}

func TestValidity(t *testing.T) {
	for _, tc := range []struct {
		typ   string
		hours int
		want  int
	}{
		{"TEMPORARY", 0, DefaultTemporaryHours},
		{"TEMPORARY", 2, 2},
		{"VIRTUAL", 0, 0},
		{"PLASTIC", 240, 240},
	} {
		h, until := Validity(tc.typ, tc.hours, t0)
		if h != tc.want || (h == 0) != (until == nil) || (until != nil && !until.Equal(t0.Add(time.Duration(h)*time.Hour))) {
			t.Errorf("%s %d: %d %v", tc.typ, tc.hours, h, until)
		}
	}
	f := Fields{ValidUntil: &t0}
	if f.Ended(t0.Add(-time.Nanosecond)) || !f.Ended(t0) {
		t.Fatal("Ended at the boundary")
	}
}

func TestRequestChecks(t *testing.T) {
	for _, tc := range []struct {
		name  string
		r     Request
		typ   string
		field string
		code  string
	}{
		{"valid", Request{ValidityPeriodHours: 24, CVVRotationIntervalHours: 4320, ExpirationDate: "2612", EmbossingCustomField: "Tracking ID = 5859930"}, "PLASTIC", "", ""},
		{"negative validity", Request{ValidityPeriodHours: -1}, "VIRTUAL", "validity_period_hours", "out_of_range"},
		{"rotation too long", Request{CVVRotationIntervalHours: 4321}, "VIRTUAL", "cvv_rotation_interval_hours", "out_of_range"},
		{"month 00", Request{ExpirationDate: "2800"}, "VIRTUAL", "expiration_date", "invalid"},
		{"expiration this month", Request{ExpirationDate: "2606"}, "VIRTUAL", "expiration_date", "out_of_range"},
		{"expiration past the product", Request{ExpirationDate: "3007"}, "VIRTUAL", "expiration_date", "out_of_range"},
		{"custom field tab", Request{EmbossingCustomField: "a\tb"}, "PLASTIC", "embossing_custom_field", "invalid"},
		{"custom field on a virtual card", Request{EmbossingCustomField: "METAL"}, "VIRTUAL", "embossing_custom_field", "not_supported"},
		{"activation of a virtual card", Request{ActivationRequired: true}, "TEMPORARY", "activation_required", "not_supported"},
		{"validity past the printed expiry", Request{ValidityPeriodHours: 24 * 400, ExpirationDate: "2612"}, "VIRTUAL", "validity_period_hours", "out_of_range"},
		{"a nickname", Request{Nickname: "Viagem à Lisboa ✈"}, "TEMPORARY", "", ""},
		{"a nickname of 50 characters", Request{Nickname: strings.Repeat("é", 50)}, "PLASTIC", "", ""},
		{"a nickname of 51 characters", Request{Nickname: strings.Repeat("é", 51)}, "VIRTUAL", "nickname", "invalid"},
		{"a nickname with a newline", Request{Nickname: "Trip\ncard"}, "VIRTUAL", "nickname", "invalid"},
		{"a nickname of spaces", Request{Nickname: "  "}, "VIRTUAL", "nickname", "invalid"},
		{"a nickname that is not UTF-8", Request{Nickname: "Trip \xff"}, "VIRTUAL", "nickname", "invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			add := func(field, code, _ string) { got = append(got, field+"/"+code) }
			tc.r.Check(add)
			if _, err := tc.r.Plan(tc.typ, t0, 48, nil, "REQUIRED", add); err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.field == "" && len(got) > 0:
				t.Fatalf("problems %v", got)
			case tc.field != "" && !slices.Contains(got, tc.field+"/"+tc.code):
				t.Fatalf("problems %v, want %s/%s", got, tc.field, tc.code)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	early := t0.Add(time.Hour)
	r := Request{ValidityPeriodHours: 48, CVVRotationIntervalHours: 24}
	p, err := r.Plan("VIRTUAL", t0, 36, nil, "IF_PRESENT", func(f, c, m string) { t.Fatalf("%s %s %s", f, c, m) })
	if err != nil {
		t.Fatal(err)
	}
	if p.Expiry != "2906" || !p.ExpiryAt.Equal(t0.Add(48*time.Hour)) || p.CVV2Policy != PolicyDynamic || !p.Dynamic {
		t.Fatalf("plan %+v", p)
	}
	if p, _ := (&Request{Nickname: "Trip card"}).Plan("TEMPORARY", t0, 36, nil, "REQUIRED", func(string, string, string) {}); p.Nickname != "Trip card" {
		t.Fatalf("the nickname did not reach the card's fields: %+v", p.Fields)
	}
	p, _ = r.Plan("VIRTUAL", t0, 36, &early, "REQUIRED", func(string, string, string) {})
	if !p.ExpiryAt.Equal(early) {
		t.Fatalf("an earlier expiry_at was replaced: %v", p.ExpiryAt)
	}
}
