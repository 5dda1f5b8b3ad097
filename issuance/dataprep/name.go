package dataprep

import (
	"fmt"
	"strings"
)

// Printed name limits (EMV tag 5F20, cardholder name: 2 to 26 characters).
const (
	MinPrintedName = 2
	MaxPrintedName = 26
)

// NormalizePrintedName checks a printed name given by the issuer and
// returns it as embossed: upper-cased, trimmed, runs of spaces collapsed.
// Only the letters A-Z and the space are allowed (EMV 5F20 as issuers
// restrict it: no digits, accents or punctuation); anything else, or a
// length outside 2-26, gives ErrPrintedName. The issuer chose the name, so
// nothing is silently transliterated or cut.
func NormalizePrintedName(s string) (string, error) {
	n := strings.Join(strings.Fields(strings.ToUpper(s)), " ")
	for i := 0; i < len(n); i++ {
		if c := n[i]; c != ' ' && (c < 'A' || c > 'Z') {
			return "", fmt.Errorf("printed name: only letters A-Z and spaces: %w", ErrPrintedName)
		}
	}
	if len(n) < MinPrintedName || len(n) > MaxPrintedName {
		return "", fmt.Errorf("printed name: %d characters, want %d-%d: %w", len(n), MinPrintedName, MaxPrintedName, ErrPrintedName)
	}
	return n, nil
}

// PrintedNameFrom derives a printed name from a cardholder's first and last
// names, for cards created without one: Latin letters with diacritics are
// transliterated (João -> JOAO, Müller -> MULLER, Łukasz -> LUKASZ),
// hyphens become spaces, other characters are dropped, and the result is
// fitted to 26 characters: "FIRST LAST", else "F LAST" (initial), cut to
// 26 when still longer. Fewer than 2 letters left gives ErrPrintedName.
func PrintedNameFrom(first, last string) (string, error) {
	f, l := embossable(first), embossable(last)
	name := join(f, l)
	if len(name) > MaxPrintedName && f != "" && l != "" {
		name = join(f[:1], l)
	}
	if len(name) > MaxPrintedName {
		name = strings.TrimSpace(name[:MaxPrintedName])
	}
	if len(name) < MinPrintedName {
		return "", fmt.Errorf("printed name: fewer than %d embossable letters in the cardholder's name: %w", MinPrintedName, ErrPrintedName)
	}
	return name, nil
}

func join(a, b string) string { return strings.TrimSpace(a + " " + b) }

// embossable upper-cases s, transliterates Latin letters with diacritics,
// turns separators into spaces and drops everything else.
func embossable(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '\t' || r == '_':
			b.WriteByte(' ')
		default:
			if t, ok := translit[r]; ok {
				b.WriteString(t)
			}
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// translit maps Latin letters with diacritics (Latin-1 Supplement and
// Latin Extended-A) to their embossable base letters.
var translit = func() map[rune]string {
	m := map[rune]string{}
	add := func(base string, letters string) {
		for _, r := range letters {
			m[r] = base
		}
	}
	add("A", "ÀÁÂÃÄÅàáâãäåĀāĂăĄą")
	add("AE", "Ææ")
	add("C", "ÇçĆćĈĉĊċČč")
	add("D", "ÐðĎďĐđ")
	add("E", "ÈÉÊËèéêëĒēĔĕĖėĘęĚě")
	add("G", "ĜĝĞğĠġĢģ")
	add("H", "ĤĥĦħ")
	add("I", "ÌÍÎÏìíîïĨĩĪīĬĭĮįİı")
	add("IJ", "Ĳĳ")
	add("J", "Ĵĵ")
	add("K", "Ķķĸ")
	add("L", "ĹĺĻļĽľĿŀŁł")
	add("N", "ÑñŃńŅņŇňŉŊŋ")
	add("O", "ÒÓÔÕÖØòóôõöøŌōŎŏŐő")
	add("OE", "Œœ")
	add("R", "ŔŕŖŗŘř")
	add("S", "ŚśŜŝŞşŠšſ")
	add("SS", "ß")
	add("T", "ŢţŤťŦŧ")
	add("TH", "Þþ")
	add("U", "ÙÚÛÜùúûüŨũŪūŬŭŮůŰűŲų")
	add("W", "Ŵŵ")
	add("Y", "ÝýÿŶŷŸ")
	add("Z", "ŹźŻżŽž")
	return m
}()
