package ledger

import (
	"errors"
	"strings"
	"testing"
)

const goodPAN = "4111111111111111"

func clearingFile(lines ...string) string {
	return strings.Join(append(append([]string{"# test file", "H|CARDHOST-CLEARING|1|F0001|2026-05-01"}, lines...), ""), "\n")
}

func TestParseClearing(t *testing.T) {
	src := clearingFile(
		"D|purchase|"+goodPAN+"|1250|eur|A1B2C3|612345000123|74000016074000000000017|5812|CAFE CENTRAL",
		"",
		"D|refund|"+goodPAN+"|300|EUR|||74000016074000000000025|5411|SHOP",
		"D|purchase|4111111111111112|100|EUR|A1B2C3||74000016074000000000033|5411|BAD LUHN",
		"D|gift|"+goodPAN+"|100|EUR|A1B2C3||74000016074000000000041|5411|BAD TYPE",
		"D|purchase|"+goodPAN+"|-1|EUR|A1B2C3||74000016074000000000058|5411|BAD AMOUNT",
		"D|purchase|"+goodPAN+"|100|EUR|A1B2C3||7400001607400|5411|SHORT ARN",
		"D|purchase|"+goodPAN+"|100",
		"T|7",
	)
	f, err := ParseClearing(strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	if f.Reference != "F0001" || f.Date.Format("2006-01-02") != "2026-05-01" {
		t.Fatalf("header %q %v", f.Reference, f.Date)
	}
	if len(f.Records) != 2 || len(f.Errors) != 5 {
		t.Fatalf("%d records, %d errors: %v", len(f.Records), len(f.Errors), f.Errors)
	}
	r := f.Records[0]
	if r.Type != ClearingPurchase || r.PAN.Reveal() != goodPAN || r.Amount != 1250 || r.Currency != "EUR" || r.ApprovalCode != "A1B2C3" ||
		r.RRN != "612345000123" || r.ARN != "74000016074000000000017" || r.MCC != "5812" || r.Merchant != "CAFE CENTRAL" || r.Line != 3 {
		t.Fatalf("record %+v", r)
	}
	if r.Key() != "purchase|74000016074000000000017" {
		t.Fatalf("key %q", r.Key())
	}
	for _, e := range f.Errors {
		if strings.Contains(e.Err, "411111111111") {
			t.Fatalf("a line error shows the PAN: %v", e)
		}
	}
	if f.Errors[0].Line != 6 {
		t.Fatalf("first error on line %d", f.Errors[0].Line)
	}
}

func TestParseClearingRefusesWholeFiles(t *testing.T) {
	d := "D|purchase|" + goodPAN + "|1250|EUR|A1B2C3|612345000123|74000016074000000000017|5812|CAFE"
	for name, src := range map[string]string{
		"no trailer (cut short)": clearingFile(d),
		"trailer count wrong":    clearingFile(d, "T|2"),
		"no header":              d + "\nT|1\n",
		"bad header":             "H|OTHER|1|F|2026-05-01\n" + d + "\nT|1\n",
		"bad date":               "H|CARDHOST-CLEARING|1|F|01/05/2026\n" + d + "\nT|1\n",
		"line after trailer":     clearingFile(d, "T|1", d),
		"unknown line type":      clearingFile("X|1", "T|0"),
		"empty":                  "",
	} {
		if _, err := ParseClearing(strings.NewReader(src)); !errors.Is(err, ErrClearingFile) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestBuildSettlement(t *testing.T) {
	r := BuildSettlement(now, []SettlementLine{
		{Currency: "USD", Type: ClearingPurchase, Count: 3, Amount: 3000},
		{Currency: "EUR", Type: ClearingPurchase, Count: 2, Amount: 2500},
		{Currency: "EUR", Type: ClearingPurchase, Unmatched: true, Count: 1, Amount: 100},
		{Currency: "EUR", Type: ClearingRefund, Count: 1, Amount: 400},
		{Currency: "EUR", Type: ClearingReversal, Count: 1, Amount: 250},
	})
	if r.Date != "2026-05-01" || len(r.Currencies) != 2 || r.Currencies[0].Currency != "EUR" {
		t.Fatalf("report %+v", r)
	}
	eur := r.Currencies[0]
	if eur.Presentment != (Total{3, 2600}) || eur.Refunds != (Total{1, 400}) || eur.Reversals != (Total{1, 250}) ||
		eur.Unmatched != (Total{1, 100}) || eur.Net != 2600-400-250 {
		t.Fatalf("EUR %+v", eur)
	}
	if r.Currencies[1].Net != 3000 {
		t.Fatalf("USD %+v", r.Currencies[1])
	}
}
