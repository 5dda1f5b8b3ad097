package scenario

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/cardhost/cardhost/cmd/termsim/loadgen"
	"github.com/cardhost/cardhost/cmd/termsim/terminal"
	"github.com/cardhost/cardhost/cmd/termsim/terminal/terminaltest"
	"github.com/cardhost/cardhost/emv"
)

// TestDocsExamples keeps docs/termsim.md true: its card files, mix and
// scenario examples parse, and the example cards' keys and CVVs are what
// the stated IMK and CVK give.
func TestDocsExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/termsim.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := regexp.MustCompile("(?s)```(yaml|json)\n(.*?)```").FindAllStringSubmatch(string(doc), -1)
	imk, cvk := terminaltest.MustHex(t, terminaltest.IMK), terminaltest.MustHex(t, terminaltest.CVK)
	var cards, mixes, scenarios int
	for _, b := range blocks {
		text := b[2]
		switch {
		case strings.Contains(text, "kinds:"):
			if _, err := loadgen.ParseMix([]byte(text)); err != nil {
				t.Errorf("mix example: %v", err)
			}
			mixes++
		case strings.Contains(text, "steps:"):
			if _, err := ParseScenario("docs/termsim.md", []byte(text)); err != nil {
				t.Errorf("scenario example: %v", err)
			}
			scenarios++
		case strings.Contains(text, `"pan"`) || strings.HasPrefix(strings.TrimSpace(text), "#") && strings.Contains(text, "pan:"):
			c, err := terminal.ParseCardFile([]byte(text))
			if err != nil {
				t.Errorf("card example: %v", err)
				continue
			}
			cards++
			pan := c.PAN.Reveal()
			mk, _ := emv.DeriveICCMasterKey(imk, pan, c.PSN)
			cvn, _ := c.CVN()
			l, err := c.Chip(terminal.ChipData{Amount: 1, Country: "840", Currency: "840", Date: terminaltest.Date, TxnType: "00"}, terminal.ChipTamper{})
			if err != nil {
				t.Fatal(err)
			}
			if !terminaltest.ARQCVerifies(t, pan, l.Field55) {
				t.Errorf("card example %s: its MK-AC is not the IMK's (%s, MK %s)", c, cvn, emv.EncodeHex(mk))
			}
			cvv, _ := emv.GenerateCVV(cvk, pan, c.Expiry, "201")
			icvv, _ := emv.GenerateICVV(cvk, pan, c.Expiry)
			cvv2, _ := emv.GenerateCVV2(cvk, pan, c.Expiry)
			if !strings.Contains(c.Track2.Reveal(), cvv.Reveal()+"00000") || !strings.Contains(c.ChipTrack2.Reveal(), icvv.Reveal()+"00000") || c.CVV2 != cvv2 {
				t.Errorf("card example %s: CVVs are not the CVK's", c)
			}
		}
	}
	if cards != 2 || mixes != 1 || scenarios != 1 {
		t.Errorf("found %d card, %d mix and %d scenario examples in docs/termsim.md, want 2, 1, 1", cards, mixes, scenarios)
	}
}
