package lifecycle

import (
	"time"

	"github.com/cardhost/cardhost/issuance/dataprep"
)

// ExpirationBounds returns the printed expiries (YYMM) a card created at
// now may be given by expiration_date when its product's validity is
// months: from the month after now's (dataprep.MinValidityMonths) up to
// now's month plus months, the expiry the product would print itself.
func ExpirationBounds(now time.Time, months int) (earliest, latest string, err error) {
	if earliest, err = dataprep.Expiry(now, dataprep.MinValidityMonths); err != nil {
		return "", "", err
	}
	if latest, err = dataprep.Expiry(now, months); err != nil {
		return "", "", err
	}
	return earliest, latest, nil
}

// ExpirationInBounds reports whether a YYMM expiry lies within the bounds
// (YYMM strings of one century compare as months).
func ExpirationInBounds(yymm, earliest, latest string) bool {
	return yymm >= earliest && yymm <= latest
}
