package sandbox

import (
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/cardhost/cardhost/emv/softhsm"
)

// keyReport lists seeded keys for the report, one aligned line each:
// role, reference, type, check value and a note; never a key value.
type keyReport struct {
	sb strings.Builder
	tw *tabwriter.Writer
}

func newKeyReport() *keyReport {
	r := &keyReport{}
	r.tw = tabwriter.NewWriter(&r.sb, 2, 4, 2, ' ', 0)
	return r
}

func (r *keyReport) add(role string, k softhsm.KeyInfo, note string) {
	fmt.Fprintf(r.tw, "  %s\t%s\t%s\tKCV %s\t%s\n", role, k.Ref, k.Type, k.KCV, note)
}

// String returns the lines added so far.
func (r *keyReport) String() string {
	r.tw.Flush()
	return r.sb.String()
}
