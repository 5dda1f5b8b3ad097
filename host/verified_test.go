package host

import (
	"context"
	"errors"
	"testing"

	"github.com/cardhost/cardhost/emv"
)

// cvv2Counter answers VerifyCVV2 with ok (or err) and counts the calls.
type cvv2Counter struct {
	fakeVerifier
	calls int
	err   error
}

func (c *cvv2Counter) VerifyCVV2(context.Context, string, emv.PAN, string, emv.CVV) (bool, error) {
	c.calls++
	return true, c.err
}

// TestVerifiedAsksOncePerQuestion: a repeated question is answered from
// memory; a question the card changed (another CVK, another expiry) is
// asked again, and so is one whose answer was an error.
func TestVerifiedAsksOncePerQuestion(t *testing.T) {
	ctx := context.Background()
	hsm := &cvv2Counter{}
	v := newVerified(hsm)
	for _, step := range []struct {
		name, cvk, expiry string
		err               error
		calls             int
	}{
		{"first question", "cvk", "2912", nil, 1},
		{"same question", "cvk", "2912", nil, 1},
		{"card's CVK changed", "cvk2", "2912", nil, 2},
		{"card's expiry changed", "cvk2", "3012", nil, 3},
		{"failed answer", "cvk3", "3012", errors.New("hsm down"), 4},
		{"failed answer is asked again", "cvk3", "3012", nil, 5},
		{"then remembered", "cvk3", "3012", nil, 5},
	} {
		hsm.err = step.err
		_, err := v.VerifyCVV2(ctx, step.cvk, "4000001234567899", step.expiry, "123")
		if !errors.Is(err, step.err) || hsm.calls != step.calls {
			t.Fatalf("%s: %d HSM calls (err %v), want %d", step.name, hsm.calls, err, step.calls)
		}
	}
}
