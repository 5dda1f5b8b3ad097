package dea

import "math/bits"

// The tables of FIPS 46-3 as printed there: positions count from 1, and bit
// 1 is the leftmost (most significant) bit of a block, a half or a key.
// Nothing at run time reads them; init builds the lookup tables from them.

// initialPermutation is IP (FIPS 46-3, "Enciphering").
var initialPermutation = [64]uint8{
	58, 50, 42, 34, 26, 18, 10, 2,
	60, 52, 44, 36, 28, 20, 12, 4,
	62, 54, 46, 38, 30, 22, 14, 6,
	64, 56, 48, 40, 32, 24, 16, 8,
	57, 49, 41, 33, 25, 17, 9, 1,
	59, 51, 43, 35, 27, 19, 11, 3,
	61, 53, 45, 37, 29, 21, 13, 5,
	63, 55, 47, 39, 31, 23, 15, 7,
}

// finalPermutation is IP⁻¹.
var finalPermutation = [64]uint8{
	40, 8, 48, 16, 56, 24, 64, 32,
	39, 7, 47, 15, 55, 23, 63, 31,
	38, 6, 46, 14, 54, 22, 62, 30,
	37, 5, 45, 13, 53, 21, 61, 29,
	36, 4, 44, 12, 52, 20, 60, 28,
	35, 3, 43, 11, 51, 19, 59, 27,
	34, 2, 42, 10, 50, 18, 58, 26,
	33, 1, 41, 9, 49, 17, 57, 25,
}

// expansion is the E bit-selection table. The rounds do not read it: they
// take E's eight 6-bit groups from two rotations of R (see feistel);
// TestExpansion checks that against this table.
var expansion = [48]uint8{
	32, 1, 2, 3, 4, 5,
	4, 5, 6, 7, 8, 9,
	8, 9, 10, 11, 12, 13,
	12, 13, 14, 15, 16, 17,
	16, 17, 18, 19, 20, 21,
	20, 21, 22, 23, 24, 25,
	24, 25, 26, 27, 28, 29,
	28, 29, 30, 31, 32, 1,
}

// permutation is P, applied to the 32 bits the S-boxes put out.
var permutation = [32]uint8{
	16, 7, 20, 21,
	29, 12, 28, 17,
	1, 15, 23, 26,
	5, 18, 31, 10,
	2, 8, 24, 14,
	32, 27, 3, 9,
	19, 13, 30, 6,
	22, 11, 4, 25,
}

// sBoxes are S1 to S8: row from bits 1 and 6 of the 6-bit input, column
// from bits 2 to 5.
var sBoxes = [8][4][16]uint8{
	{ // S1
		{14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7},
		{0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8},
		{4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0},
		{15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13},
	},
	{ // S2
		{15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10},
		{3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5},
		{0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15},
		{13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9},
	},
	{ // S3
		{10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8},
		{13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1},
		{13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7},
		{1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12},
	},
	{ // S4
		{7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15},
		{13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9},
		{10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4},
		{3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14},
	},
	{ // S5
		{2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9},
		{14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6},
		{4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14},
		{11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3},
	},
	{ // S6
		{12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11},
		{10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8},
		{9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6},
		{4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13},
	},
	{ // S7
		{4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1},
		{13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6},
		{1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2},
		{6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12},
	},
	{ // S8
		{13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7},
		{1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2},
		{7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8},
		{2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11},
	},
}

// permutedChoice1 is PC-1: its first 28 entries are C0, the last 28 D0.
// Key bits 8, 16, ..., 64 (parity) appear nowhere.
var permutedChoice1 = [56]uint8{
	57, 49, 41, 33, 25, 17, 9,
	1, 58, 50, 42, 34, 26, 18,
	10, 2, 59, 51, 43, 35, 27,
	19, 11, 3, 60, 52, 44, 36,
	63, 55, 47, 39, 31, 23, 15,
	7, 62, 54, 46, 38, 30, 22,
	14, 6, 61, 53, 45, 37, 29,
	21, 13, 5, 28, 20, 12, 4,
}

// permutedChoice2 is PC-2, over the 56 bits of C (1-28) then D (29-56):
// its first 24 entries come from C, the last 24 from D.
var permutedChoice2 = [48]uint8{
	14, 17, 11, 24, 1, 5,
	3, 28, 15, 6, 21, 10,
	23, 19, 12, 4, 26, 8,
	16, 7, 27, 20, 13, 2,
	41, 52, 31, 37, 47, 55,
	30, 40, 51, 45, 33, 48,
	44, 49, 39, 56, 34, 53,
	46, 42, 50, 36, 29, 32,
}

// leftShifts is the number of left rotations of C and D before each of the
// 16 subkeys is selected.
var leftShifts = [16]uint8{1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1}

// The lookup tables built from the ones above.
var (
	// ipNibble and fpNibble apply IP and IP⁻¹ a nibble at a time: the
	// permutation of x is the OR over i of t[i][nibble i of x], nibble 0
	// the leftmost. The rounds keep each 32-bit half rotated right by one
	// bit (see feistel), so ipNibble puts out its halves rotated and
	// fpNibble takes them so.
	ipNibble, fpNibble [16][16]uint64

	// pc1Nibble applies PC-1 a nibble at a time to a 64-bit key, giving
	// C0 in bits 55-28 and D0 in bits 27-0 (bit 1 of C0 in bit 55).
	pc1Nibble [16][16]uint64

	// pc2C and pc2D apply PC-2 seven bits at a time to a 28-bit C or D
	// (chunk 0 the leftmost seven). A subkey is laid out for the rounds
	// (see feistel): its eight 6-bit groups B1..B8 sit in bits 31-26,
	// 23-18, 15-10 and 7-2 of two words, B1 B3 B5 B7 in the high word of
	// the uint64 and B2 B4 B6 B8 in the low word.
	pc2C, pc2D [4][128]uint64

	// spBox[i][x] is P applied to the output of S-box i+1 for the 6-bit
	// group x, placed where S-box i+1's four bits go in the 32-bit input
	// of P, then rotated right by one bit like the halves.
	spBox [8][64]uint32
)

func init() {
	// Positions (bit 0 = least significant) of the tables' input bit i and
	// output bit k (1-based) for each derived table.
	plain := func(i int) uint { return uint(64 - i) }
	rotated := func(i int) uint { return rotateHalf(64 - i) }
	fillNibbles(&ipNibble, initialPermutation[:], plain, rotated)
	fillNibbles(&fpNibble, finalPermutation[:], rotated, plain)
	fillNibbles(&pc1Nibble, permutedChoice1[:], plain, func(k int) uint { return uint(56 - k) })

	var pc2Mask [57]uint64 // by bit of C||D, 1-56
	for k, in := range permutedChoice2 {
		pc2Mask[in] |= 1 << subkeyPosition(k+1)
	}
	for chunk := 0; chunk < 4; chunk++ {
		for v := 0; v < 128; v++ {
			for j := 0; j < 7; j++ {
				if v>>(6-j)&1 != 0 {
					pc2C[chunk][v] |= pc2Mask[1+7*chunk+j]
					pc2D[chunk][v] |= pc2Mask[29+7*chunk+j]
				}
			}
		}
	}

	for box := range sBoxes {
		for x := 0; x < 64; x++ {
			row := x>>4&2 | x&1
			col := x >> 1 & 0xf
			s := uint32(sBoxes[box][row][col]) << (28 - 4*box)
			var out uint32
			for k, in := range permutation {
				out |= (s >> (32 - in) & 1) << (32 - (k + 1))
			}
			spBox[box][x] = bits.RotateLeft32(out, -1)
		}
	}
}

// fillNibbles builds nibble lookup tables for a table that selects from 64
// input bits (table[k-1] is the input bit that becomes output bit k), with
// input bit i at position in(i) of the value looked up and output bit k at
// position out(k) of the result.
func fillNibbles(t *[16][16]uint64, table []uint8, in, out func(int) uint) {
	var mask [64]uint64 // by input position
	for k, i := range table {
		mask[in(int(i))] |= 1 << out(k+1)
	}
	for n := 0; n < 16; n++ {
		for v := 0; v < 16; v++ {
			for j := 0; j < 4; j++ {
				if v>>(3-j)&1 != 0 {
					t[n][v] |= mask[63-4*n-j]
				}
			}
		}
	}
}

// rotateHalf is where position p (0-63) of a block goes when each 32-bit
// half is rotated right by one bit.
func rotateHalf(p int) uint {
	return uint(p&32 | (p+31)&31)
}

// subkeyPosition is where bit k (1-48) of a subkey goes in the uint64 the
// rounds use: group g = (k-1)/6 (B1 = 0), bit b = (k-1)%6 within it (0 the
// leftmost); even groups in the high word, odd in the low, group pair
// g/2 in byte 3-g/2 of its word, the six bits in bits 7-2 of that byte.
func subkeyPosition(k int) uint {
	g, b := (k-1)/6, (k-1)%6
	pos := uint(26 - 8*(g/2) + (5 - b))
	if g%2 == 0 {
		pos += 32
	}
	return pos
}
