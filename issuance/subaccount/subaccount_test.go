package subaccount_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/cardhost/cardhost/issuance"
	"github.com/cardhost/cardhost/issuance/subaccount"
	"github.com/cardhost/cardhost/kafka"
)

// fakeStore is a function-field fake of subaccount.Store: it records what
// it was asked and answers from its fields.
type fakeStore struct {
	created []issuance.Tenant
	events  []kafka.Event
	asked   []string // parent/id pairs SubTenant was asked for
	sub     map[string]issuance.Tenant
}

func (f *fakeStore) CreateSubTenant(_ context.Context, t issuance.Tenant, evs []kafka.Event) error {
	f.created, f.events = append(f.created, t), append(f.events, evs...)
	return nil
}

func (f *fakeStore) SubTenants(context.Context, string, issuance.PageRequest) ([]issuance.Tenant, bool, error) {
	return f.created, false, nil
}

func (f *fakeStore) SubTenant(_ context.Context, parentID, id string) (issuance.Tenant, error) {
	f.asked = append(f.asked, parentID+"/"+id)
	if t, ok := f.sub[parentID+"/"+id]; ok {
		return t, nil
	}
	return issuance.Tenant{}, issuance.ErrNotFound
}

var (
	now    = time.Date(2026, 6, 2, 10, 0, 0, 123456789, time.UTC)
	parent = issuance.Tenant{ID: "ten_01M90000000000000000000001", Name: "Parent", Sandbox: true}
	child  = issuance.Tenant{ID: "ten_01M90000000000000000000002", Name: "Child", Sandbox: true, ParentID: parent.ID}
)

func TestCreate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		parent issuance.Tenant
		req    string
		slug   string
	}{
		{"ok, trimmed", parent, "  Sub  ", ""},
		{"empty name", parent, "   ", issuance.SlugValidationFailed},
		{"name too long", parent, strings.Repeat("n", 201), issuance.SlugValidationFailed},
		{"200 characters", parent, strings.Repeat("n", 200), ""},
		{"a sub-account's sub-account", child, "Grandchild", subaccount.SlugNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			store := &fakeStore{}
			svc := subaccount.New(store, issuance.Deps{Now: func() time.Time { return now }})
			got, err := svc.Create(context.Background(), tc.parent, issuance.Actor{APIKeyID: "key_x"}, subaccount.Request{Name: tc.req})
			if issuance.SlugOf(err) != tc.slug {
				t.Fatalf("Create: %v, want slug %q", err, tc.slug)
			}
			if tc.slug != "" {
				if len(store.created) != 0 || len(store.events) != 0 {
					t.Fatalf("a refused creation stored %v %v", store.created, store.events)
				}
				return
			}
			if got.ParentID != tc.parent.ID || got.Name != strings.TrimSpace(tc.req) || got.Sandbox != tc.parent.Sandbox ||
				!issuance.ValidID("ten", got.ID) || !got.CreatedAt.Equal(now.Truncate(time.Microsecond)) {
				t.Fatalf("created %+v", got)
			}
			if len(store.events) != 1 || store.events[0].Type != kafka.TypeTenantCreated || store.events[0].TenantID != got.ID {
				t.Fatalf("events %+v", store.events)
			}
			var d kafka.TenantData
			if err := json.Unmarshal(store.events[0].Data, &d); err != nil || d.ParentID != tc.parent.ID || d.ID != got.ID {
				t.Fatalf("tenant.created data %s (%v)", store.events[0].Data, err)
			}
		})
	}
}

// TestActFor: only one of the caller's own sub-accounts is found; ids that
// cannot be tenant ids never reach the store; a sub-account acts for no one.
func TestActFor(t *testing.T) {
	store := &fakeStore{sub: map[string]issuance.Tenant{parent.ID + "/" + child.ID: child}}
	svc := subaccount.New(store, issuance.Deps{})
	ctx := context.Background()
	got, err := svc.ActFor(ctx, parent, child.ID)
	if err != nil || got.ID != child.ID {
		t.Fatalf("ActFor(parent, child) = %+v, %v", got, err)
	}
	for _, id := range []string{"", "garbage", "crd_01M90000000000000000000002", strings.Repeat("t", 300)} {
		if _, err := svc.ActFor(ctx, parent, id); issuance.SlugOf(err) != subaccount.SlugNotFound {
			t.Errorf("ActFor(parent, %q): %v, want %s", id, err, subaccount.SlugNotFound)
		}
	}
	if len(store.asked) != 1 {
		t.Errorf("the store was asked %v: malformed ids must not reach it", store.asked)
	}
	for _, id := range []string{parent.ID, child.ID, "garbage"} {
		if _, err := svc.ActFor(ctx, child, id); issuance.SlugOf(err) != subaccount.SlugNotAllowed {
			t.Errorf("ActFor(child, %q): %v, want %s", id, err, subaccount.SlugNotAllowed)
		}
	}
	if _, err := svc.ActFor(ctx, parent, parent.ID); issuance.SlugOf(err) != subaccount.SlugNotFound {
		t.Errorf("a parent acting for itself: %v, want %s", err, subaccount.SlugNotFound)
	}
	if _, _, err := svc.List(ctx, child, issuance.PageRequest{}); issuance.SlugOf(err) != subaccount.SlugNotAllowed {
		t.Errorf("a sub-account listing sub-accounts: %v", err)
	}
	if _, _, err := svc.List(ctx, parent, issuance.PageRequest{StartingAfter: "crd_x"}); issuance.SlugOf(err) != issuance.SlugValidationFailed {
		t.Errorf("a list starting after a card id: %v", err)
	}
}
