package kafka

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// wantTypes is the list of event types the project promises (DESIGN.md,
// "Events", and the events assignment), in docs order.
var wantTypes = []string{
	"tenant.created",
	"card.created", "card.activated", "card.frozen", "card.unfrozen", "card.blocked",
	"card.canceled", "card.expired", "card.controls_updated", "card.pin_changed", "card.cvv2_tries_reset",
	"card.inoperative", "card.reissued", "card.cvv2_rotated",
	"authorization.approved", "authorization.declined", "authorization.reversed", "authorization.captured",
	"order.completed", "order.failed",
	"certificate.created", "certificate.expiring",
	"webhook_endpoint.disabled",
	"merchant.blocked",
	"ledger.deposit", "ledger.funding_credit", "ledger.funding_debit", "ledger.recharge", "ledger.withdraw", "ledger.fee",
	"ledger.hold_expired", "ledger.cleared", "ledger.reissue", "ledger.force_posted",
}

func TestCatalogueHasEveryTypeOnce(t *testing.T) {
	var got []string
	for _, s := range Catalogue() {
		got = append(got, s.Type)
	}
	if !slices.Equal(got, wantTypes) {
		t.Fatalf("catalogue types\n got %v\nwant %v", got, wantTypes)
	}
	if len(byType) != len(catalogue) {
		t.Fatalf("catalogue has duplicate types: %d rows, %d distinct", len(catalogue), len(byType))
	}
	for _, s := range catalogue {
		if s.Source != SourceIssuance && s.Source != SourceHost && s.Source != SourceLedger {
			t.Errorf("%s: source %q is not one of the declared sources", s.Type, s.Source)
		}
		if s.Subject == "" || s.Doc == "" {
			t.Errorf("%s: subject and doc must be filled", s.Type)
		}
		if _, ok := s.New().(interface{ missing() []string }); !ok {
			// New returns a pointer; methods have value receivers, so a
			// pointer has them too.
			t.Errorf("%s: payload %s does not implement payload", s.Type, s.Payload)
		}
		if _, ok := reflect.Zero(s.Payload).Interface().(payload); !ok {
			t.Errorf("%s: payload %s value does not implement payload", s.Type, s.Payload)
		}
	}
}

func TestCatalogueCopyIsACopy(t *testing.T) {
	c := Catalogue()
	c[0].Type = "changed"
	if s, ok := Lookup(wantTypes[0]); !ok || s.Type != wantTypes[0] || catalogue[0].Type != wantTypes[0] {
		t.Fatal("changing Catalogue()'s result changed the catalogue")
	}
}

var snakeCase = regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)

// forbidden are JSON name fragments that would mean card secrets in an
// event. Payloads must have no such field at all, not even masked.
var forbidden = []string{"pan", "track", "cvv", "cvc", "pin", "icvv", "cvn", "key", "arqc", "cryptogram", "secret", "password"}

// payloadFields returns the JSON names and Go types of a payload's fields.
func payloadFields(t *testing.T, typ reflect.Type) map[string]reflect.Type {
	t.Helper()
	out := map[string]reflect.Type{}
	for i := range typ.NumField() {
		f := typ.Field(i)
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			t.Errorf("%s.%s has no JSON name", typ.Name(), f.Name)
			continue
		}
		out[name] = f.Type
	}
	return out
}

func TestPayloadFieldsAreSnakeCaseAndCarryNoSecrets(t *testing.T) {
	seen := map[reflect.Type]bool{}
	for _, s := range catalogue {
		if seen[s.Payload] {
			continue
		}
		seen[s.Payload] = true
		t.Run(s.Payload.Name(), func(t *testing.T) {
			for name, ft := range payloadFields(t, s.Payload) {
				if !snakeCase.MatchString(name) {
					t.Errorf("field %q is not snake_case", name)
				}
				for _, part := range strings.Split(name, "_") {
					if slices.Contains(forbidden, part) {
						t.Errorf("field %q looks like card secret data (%q)", name, part)
					}
				}
				// Only plain data: no emv secret types or anything from
				// another package but time and encoding/json.
				if pkg := indirect(ft).PkgPath(); pkg != "" && pkg != "time" && pkg != "encoding/json" {
					t.Errorf("field %q has type %s from package %s", name, ft, pkg)
				}
			}
		})
	}
}

func indirect(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
		t = t.Elem()
	}
	return t
}

// TestDocsDescribeTheCatalogue keeps docs/events.md true: every type has a
// section and every payload field is named in it.
func TestDocsDescribeTheCatalogue(t *testing.T) {
	raw, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatalf("reading docs: %v", err)
	}
	doc := string(raw)
	for _, s := range catalogue {
		if !strings.Contains(doc, "### `"+s.Type+"`") {
			t.Errorf("docs/events.md has no section \"### `%s`\"", s.Type)
		}
		for name := range payloadFields(t, s.Payload) {
			if !strings.Contains(doc, "| `"+name+"` |") {
				t.Errorf("docs/events.md does not describe %s field %q in a table row", s.Payload.Name(), name)
			}
		}
	}
	for _, h := range []string{HeaderID, HeaderSource, HeaderSpecVersion, HeaderType, HeaderTime, HeaderSubject, HeaderTenantID, HeaderContentType, Topic} {
		if !strings.Contains(doc, "`"+h+"`") {
			t.Errorf("docs/events.md does not mention %q", h)
		}
	}
}

// TestDocsExamplesAreValidEvents decodes every JSON example in
// docs/events.md as a structured CloudEvent and checks it against the
// catalogue: known type, payload fields that exist, the subject and tenant
// the payload implies.
func TestDocsExamplesAreValidEvents(t *testing.T) {
	raw, err := os.ReadFile("../docs/events.md")
	if err != nil {
		t.Fatalf("reading docs: %v", err)
	}
	blocks := regexp.MustCompile("(?s)```json\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	covered := map[string]bool{}
	for i, b := range blocks {
		var e Event
		if err := json.Unmarshal([]byte(b[1]), &e); err != nil {
			t.Errorf("example %d: %v", i, err)
			continue
		}
		if err := e.Validate(); err != nil {
			t.Errorf("example %d: %v", i, err)
			continue
		}
		spec, ok := Lookup(e.Type)
		if !ok {
			t.Errorf("example %d: unknown type %q", i, e.Type)
			continue
		}
		covered[e.Type] = true
		p := spec.New()
		dec := json.NewDecoder(strings.NewReader(string(e.Data)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(p); err != nil {
			t.Errorf("example %d (%s): data does not match %s: %v", i, e.Type, spec.Payload.Name(), err)
			continue
		}
		// The example must be something NewEvent would build.
		if _, err := NewEvent(e.Type, e.Subject, e.TenantID, p, e.Time); err != nil {
			t.Errorf("example %d (%s): %v", i, e.Type, err)
		}
		if e.Source != spec.Source {
			t.Errorf("example %d (%s): source %q, want %q", i, e.Type, e.Source, spec.Source)
		}
		if _, off := e.Time.Zone(); off != 0 {
			t.Errorf("example %d (%s): time %v is not UTC", i, e.Type, e.Time)
		}
	}
	for _, s := range catalogue {
		if !covered[s.Type] {
			t.Errorf("docs/events.md has no JSON example of %s", s.Type)
		}
	}
}
