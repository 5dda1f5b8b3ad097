package issuance

import "testing"

func TestTransitionTable(t *testing.T) {
	all := []Status{StatusProvisioned, StatusActive, StatusFrozen, StatusBlocked, StatusCanceled, StatusExpired}
	allowed := map[[2]Status]bool{
		{StatusProvisioned, StatusActive}: true, {StatusProvisioned, StatusCanceled}: true,
		{StatusActive, StatusFrozen}: true, {StatusActive, StatusBlocked}: true, {StatusActive, StatusCanceled}: true, {StatusActive, StatusExpired}: true,
		{StatusFrozen, StatusActive}: true, {StatusFrozen, StatusBlocked}: true, {StatusFrozen, StatusCanceled}: true, {StatusFrozen, StatusExpired}: true,
	}
	for _, from := range all {
		for _, to := range all {
			t.Run(string(from)+"->"+string(to), func(t *testing.T) {
				if got := from.CanTransition(to); got != allowed[[2]Status{from, to}] {
					t.Errorf("CanTransition = %v, want %v", got, !got)
				}
			})
		}
	}
	for _, s := range []Status{StatusBlocked, StatusCanceled, StatusExpired} {
		if !s.Terminal() {
			t.Errorf("%s should be terminal", s)
		}
	}
	if Status("LOST").Valid() {
		t.Error("unknown status is valid")
	}
}
