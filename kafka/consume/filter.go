package consume

import (
	"slices"
	"strings"

	"github.com/cardhost/cardhost/kafka"
)

// Filter selects events; nil selects every event.
type Filter func(kafka.Event) bool

// Types selects events whose type matches one of patterns: an exact type
// ("card.frozen") or a prefix ending in ".*" ("card.*" matches every card
// event). No patterns selects nothing.
func Types(patterns ...string) Filter {
	return func(e kafka.Event) bool {
		return slices.ContainsFunc(patterns, func(p string) bool {
			if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasSuffix(prefix, ".") {
				return strings.HasPrefix(e.Type, prefix)
			}
			return e.Type == p
		})
	}
}

// Subjects selects events about one of the given subjects (card ids, or
// tenant ids for tenant and certificate events).
func Subjects(ids ...string) Filter {
	return func(e kafka.Event) bool { return slices.Contains(ids, e.Subject) }
}

// Tenant selects the events of one tenant.
func Tenant(id string) Filter {
	return func(e kafka.Event) bool { return e.TenantID == id }
}

// All selects events every filter selects (nil filters are ignored).
func All(fs ...Filter) Filter {
	return func(e kafka.Event) bool {
		for _, f := range fs {
			if f != nil && !f(e) {
				return false
			}
		}
		return true
	}
}

// match applies f, nil meaning everything.
func (f Filter) match(e kafka.Event) bool { return f == nil || f(e) }
