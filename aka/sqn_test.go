package aka

import (
	"errors"
	"testing"
)

func TestSQNBytes(t *testing.T) {
	tests := []struct {
		name string
		b    [6]byte
		s    SQN
	}{
		{"zero", [6]byte{}, 0},
		{"big-endian: last octet is least significant", [6]byte{0, 0, 0, 0, 0, 1}, 1},
		{"big-endian: first octet is most significant", [6]byte{0x80, 0, 0, 0, 0, 0}, 1 << 47},
		{"all ones is MaxSQN", [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, MaxSQN},
		{"TS 35.208 set 19 SQN", [6]byte{0x16, 0xf3, 0xb3, 0xf7, 0x0f, 0xc2}, 0x16f3b3f70fc2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SQNFromBytes(tt.b); got != tt.s {
				t.Errorf("SQNFromBytes(%x) = %#x, want %#x", tt.b, got, tt.s)
			}
			if got := tt.s.Bytes(); got != tt.b {
				t.Errorf("SQN(%#x).Bytes() = %x, want %x", tt.s, got, tt.b)
			}
		})
	}
}

func TestSEQIND(t *testing.T) {
	tests := []struct {
		name     string
		s        SQN
		indBits  uint
		seq, ind uint64
	}{
		{"IND is the low indBits bits", 0b1010_00011, 5, 0b1010, 0b00011},
		{"hostapd default: 5-bit IND, 43-bit SEQ", MaxSQN, DefaultINDBits, 1<<43 - 1, 31},
		{"no IND: SEQ is the whole SQN", 12345, 0, 12345, 0},
		{"wide IND", 0xabcdef, 16, 0xab, 0xcdef},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.SEQ(tt.indBits); got != tt.seq {
				t.Errorf("SEQ = %#x, want %#x", got, tt.seq)
			}
			if got := tt.s.IND(tt.indBits); got != tt.ind {
				t.Errorf("IND = %#x, want %#x", got, tt.ind)
			}
			if got := MakeSQN(tt.seq, tt.ind, tt.indBits); got != tt.s {
				t.Errorf("MakeSQN(%#x, %#x, %d) = %#x, want %#x", tt.seq, tt.ind, tt.indBits, got, tt.s)
			}
		})
	}
	t.Run("MakeSQN reduces IND modulo 2^indBits", func(t *testing.T) {
		if got, want := MakeSQN(1, 33, 5), MakeSQN(1, 1, 5); got != want {
			t.Errorf("MakeSQN(1, 33, 5) = %#x, want %#x", got, want)
		}
	})
}

func TestSQNNext(t *testing.T) {
	const maxSeq5 = 1<<43 - 1 // largest SEQ beside a 5-bit IND
	tests := []struct {
		name    string
		s       SQN
		indBits uint
		want    SQN
		err     error
	}{
		{"fresh counter: SEQ and IND both advance by one", 0, 5, MakeSQN(1, 1, 5), nil},
		{"SEQ increments by one", MakeSQN(41, 2, 5), 5, MakeSQN(42, 3, 5), nil},
		{"IND wraps modulo 2^indBits while SEQ still increments", MakeSQN(7, 31, 5), 5, MakeSQN(8, 0, 5), nil},
		{"SEQ carries across octets", MakeSQN(0xff_ffff, 4, 5), 5, MakeSQN(0x100_0000, 5, 5), nil},
		{"no IND bits: plain counter", 99, 0, 100, nil},
		{"one IND bit alternates", MakeSQN(3, 1, 1), 1, MakeSQN(4, 0, 1), nil},
		{"last SEQ value is still issued", MakeSQN(maxSeq5-1, 30, 5), 5, MakeSQN(maxSeq5, 31, 5), nil},
		{"SEQ at the top of its field is exhausted, not wrapped", MakeSQN(maxSeq5, 0, 5), 5, 0, ErrSQNExhausted},
		{"MaxSQN is exhausted", MaxSQN, 5, 0, ErrSQNExhausted},
		{"MaxSQN without IND is exhausted", MaxSQN, 0, 0, ErrSQNExhausted},
		{"an SQN above 48 bits is refused, not truncated", MaxSQN + 1, 5, 0, ErrSQNExhausted},
		{"indBits leaving no SEQ is refused", 5, 48, 0, ErrINDBits},
		{"absurd indBits is refused", 5, 200, 0, ErrINDBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.Next(tt.indBits)
			if !errors.Is(err, tt.err) {
				t.Fatalf("Next(%d) of %#x: error %v, want %v", tt.indBits, tt.s, err, tt.err)
			}
			if got != tt.want {
				t.Errorf("Next(%d) of %#x = %#x, want %#x", tt.indBits, tt.s, got, tt.want)
			}
			if err == nil && (got <= tt.s || got.SEQ(tt.indBits) != tt.s.SEQ(tt.indBits)+1) {
				t.Errorf("Next(%d): %#x -> %#x is not SEQ+1", tt.indBits, tt.s, got)
			}
		})
	}
	t.Run("a run of Next never repeats an SQN and visits every IND", func(t *testing.T) {
		seen := make(map[SQN]bool)
		inds := make(map[uint64]bool)
		s := MakeSQN(1000, 17, DefaultINDBits)
		for range 200 {
			n, err := s.Next(DefaultINDBits)
			if err != nil {
				t.Fatal(err)
			}
			if seen[n] {
				t.Fatalf("SQN %#x issued twice", n)
			}
			if n.SEQ(DefaultINDBits) != s.SEQ(DefaultINDBits)+1 {
				t.Fatalf("SEQ %d -> %d, want +1", s.SEQ(DefaultINDBits), n.SEQ(DefaultINDBits))
			}
			seen[n] = true
			inds[n.IND(DefaultINDBits)] = true
			s = n
		}
		if len(inds) != 1<<DefaultINDBits {
			t.Errorf("visited %d IND values, want %d", len(inds), 1<<DefaultINDBits)
		}
	})
}

func TestSQNAfterResync(t *testing.T) {
	const maxSeq5 = 1<<43 - 1
	tests := []struct {
		name    string
		s       SQN
		sqnMS   SQN
		indBits uint
		want    SQN
		err     error
	}{
		{"USIM ahead: continue above SEQ_MS", MakeSQN(10, 3, 5), MakeSQN(100, 7, 5), 5, MakeSQN(101, 4, 5), nil},
		{"USIM behind: never go back below the AuC counter", MakeSQN(100, 3, 5), MakeSQN(10, 7, 5), 5, MakeSQN(101, 4, 5), nil},
		{"equal SEQ: still step past it", MakeSQN(50, 9, 5), MakeSQN(50, 2, 5), 5, MakeSQN(51, 10, 5), nil},
		{"IND comes from the AuC counter and wraps", MakeSQN(10, 31, 5), MakeSQN(20, 4, 5), 5, MakeSQN(21, 0, 5), nil},
		{"USIM SEQ_MS at the top of the field is exhausted", MakeSQN(10, 0, 5), MakeSQN(maxSeq5, 0, 5), 5, 0, ErrSQNExhausted},
		{"USIM one below the top: last SEQ issued", MakeSQN(10, 0, 5), MakeSQN(maxSeq5-1, 0, 5), 5, MakeSQN(maxSeq5, 1, 5), nil},
		{"AuC counter exhausted", MaxSQN, 0, 5, 0, ErrSQNExhausted},
		{"indBits leaving no SEQ is refused", 1, 2, 48, 0, ErrINDBits},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.s.AfterResync(tt.sqnMS, tt.indBits)
			if !errors.Is(err, tt.err) {
				t.Fatalf("AfterResync: error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("AfterResync = %#x, want %#x", got, tt.want)
			}
		})
	}
	t.Run("resync never goes backwards", func(t *testing.T) {
		// Every combination of AuC and USIM SEQ in a small grid, across
		// IND values: the new SEQ is above both.
		for _, indBits := range []uint{0, 1, DefaultINDBits, 10} {
			for seqHE := uint64(0); seqHE < 20; seqHE += 3 {
				for seqMS := uint64(0); seqMS < 20; seqMS += 2 {
					for _, ind := range []uint64{0, 1, 1<<indBits - 1} {
						s := MakeSQN(seqHE, ind, indBits)
						ms := MakeSQN(seqMS, ind^1, indBits)
						got, err := s.AfterResync(ms, indBits)
						if err != nil {
							t.Fatal(err)
						}
						if got.SEQ(indBits) <= s.SEQ(indBits) || got.SEQ(indBits) <= ms.SEQ(indBits) {
							t.Fatalf("indBits %d: AfterResync(%#x, %#x) = %#x does not move past both", indBits, s, ms, got)
						}
						if got <= s || got <= ms {
							t.Fatalf("indBits %d: AfterResync(%#x, %#x) = %#x is not above both", indBits, s, ms, got)
						}
					}
				}
			}
		}
	})
}
