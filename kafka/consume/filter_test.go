package consume

import (
	"testing"

	"github.com/cardhost/cardhost/kafka"
)

func TestFilters(t *testing.T) {
	frozen := kafka.Event{Type: "card.frozen", Subject: "card_1", TenantID: "ten_1"}
	auth := kafka.Event{Type: "authorization.approved", Subject: "card_2", TenantID: "ten_2"}
	cardholder := kafka.Event{Type: "cardholder.created", Subject: "ten_1", TenantID: "ten_1"}
	for _, tc := range []struct {
		name string
		f    Filter
		ev   kafka.Event
		want bool
	}{
		{"nil selects all", nil, auth, true},
		{"exact type", Types("card.frozen"), frozen, true},
		{"exact type other", Types("card.frozen"), auth, false},
		{"prefix", Types("card.*"), frozen, true},
		{"prefix needs the dot", Types("card.*"), cardholder, false},
		{"bare star is not a prefix", Types("card*"), frozen, false},
		{"one of several", Types("order.*", "authorization.*"), auth, true},
		{"no patterns", Types(), frozen, false},
		{"subject", Subjects("card_2", "card_3"), auth, true},
		{"other subject", Subjects("card_3"), auth, false},
		{"tenant", Tenant("ten_1"), frozen, true},
		{"other tenant", Tenant("ten_1"), auth, false},
		{"all of", All(Types("card.*"), Tenant("ten_1"), nil), frozen, true},
		{"all of, one fails", All(Types("card.*"), Tenant("ten_2")), frozen, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.match(tc.ev); got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestDedup(t *testing.T) {
	d := NewDedup(3)
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"a", true}, {"b", true}, {"a", false}, {"c", true}, {"b", false},
		{"d", true},  // evicts a
		{"a", true},  // forgotten, so first again; evicts b
		{"c", false}, // still remembered
		{"b", true},
	} {
		if got := d.First(tc.id); got != tc.want {
			t.Fatalf("First(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	if NewDedup(0) == nil || len(NewDedup(0).ring) != DefaultDedupWindow {
		t.Fatal("NewDedup(0) must use the default window")
	}
}

func TestUnique(t *testing.T) {
	evs := []kafka.Event{{ID: "1"}, {ID: "2"}, {ID: "1"}, {ID: "3"}, {ID: "2"}}
	got := Unique(evs)
	if len(got) != 3 || got[0].ID != "1" || got[1].ID != "2" || got[2].ID != "3" {
		t.Fatalf("Unique = %v", got)
	}
}
