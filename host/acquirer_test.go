package host

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cardhost/cardhost/emv/pinblock"
)

// TestAcquirerBook: the acquirers are read once and answered from memory;
// an unknown acquirer reads them again at most once a second (a new one
// is served at once), all of them again after the TTL; a failed read is
// an error, not an unknown acquirer.
func TestAcquirerBook(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	table := []Acquirer{{ID: "1", ZPKRef: "zpk"}}
	var loads int
	var fail error
	b := newAcquirerBook(func(context.Context) ([]Acquirer, error) {
		loads++
		if fail != nil {
			return nil, fail
		}
		return append([]Acquirer(nil), table...), nil
	}, time.Minute, func() time.Time { return now })
	ctx := context.Background()
	get := func(id string) (Acquirer, error) { t.Helper(); return b.get(ctx, id) }

	if a, err := get("1"); err != nil || a.ZPKRef != "zpk" || loads != 1 {
		t.Fatalf("first: %+v %v, %d loads", a, err, loads)
	}
	if _, err := get("1"); err != nil || loads != 1 {
		t.Fatalf("known acquirer read again: %d loads", loads)
	}
	if _, err := get("2"); !errors.Is(err, ErrNotFound) || loads != 1 {
		t.Fatalf("unknown within a second: %v, %d loads", err, loads)
	}
	table = append(table, Acquirer{ID: "2", ZAKRef: "zak", MACRequired: true})
	now = now.Add(1500 * time.Millisecond)
	if a, err := get("2"); err != nil || !a.MACRequired || loads != 2 {
		t.Fatalf("new acquirer: %+v %v, %d loads", a, err, loads)
	}
	table[0].PINFormats = []pinblock.Format{pinblock.Format1}
	if a, _ := get("1"); a.PINFormats != nil {
		t.Fatal("a change was seen before the TTL")
	}
	now = now.Add(time.Minute)
	if a, _ := get("1"); len(a.PINFormats) != 1 || loads != 3 {
		t.Fatalf("after the TTL: %+v, %d loads", a, loads)
	}
	fail = errors.New("database down")
	now = now.Add(2 * time.Minute)
	if _, err := get("1"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("failed read: %v", err)
	}
	if got := (Acquirer{}).AcceptedPINFormats(); len(got) != 2 || got[0] != pinblock.Format0 || got[1] != pinblock.Format3 {
		t.Fatalf("default formats %v", got)
	}
	for _, tc := range []struct {
		fs []pinblock.Format
		ok bool
	}{{[]pinblock.Format{0, 3}, true}, {[]pinblock.Format{1}, true}, {nil, false}, {[]pinblock.Format{4}, false}, {[]pinblock.Format{0, 0}, false}} {
		if err := CheckPINFormats(tc.fs); (err == nil) != tc.ok {
			t.Errorf("CheckPINFormats(%v) = %v", tc.fs, err)
		}
	}
}
