package digit

// N reports whether s is exactly n ASCII digits.
func N(s string, n int) bool { return len(s) == n && All(s) }

// All reports whether every byte of s is an ASCII digit '0'-'9'. It is
// true for the empty string: callers that need a digit check the length.
func All(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// LuhnValid reports whether s is at least two digits whose last one is the
// Luhn check digit of the others (ISO/IEC 7812-1 annex B).
func LuhnValid(s string) bool {
	if len(s) < 2 {
		return false
	}
	d, ok := LuhnDigit(s[:len(s)-1])
	return ok && d == s[len(s)-1]
}

// LuhnDigit returns the Luhn check digit to append to partial, as an ASCII
// digit; false when partial is empty or not all digits.
func LuhnDigit(partial string) (byte, bool) {
	if partial == "" || !All(partial) {
		return 0, false
	}
	sum := 0
	// Double every second digit from the right of the partial number (the
	// check digit will be the new rightmost one).
	for i, double := len(partial)-1, true; i >= 0; i, double = i-1, !double {
		n := int(partial[i] - '0')
		if double {
			if n *= 2; n > 9 {
				n -= 9
			}
		}
		sum += n
	}
	return byte('0' + (10-sum%10)%10), true
}
