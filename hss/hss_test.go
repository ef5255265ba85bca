package hss

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// TS 35.208 test set 1.
const (
	set1K   = "465b5ce8b199b49faa5f0a2ee238a6bc"
	set1OP  = "cdc202d5123e20f62b6d676ac72cb318"
	set1OPc = "cd63cb71954a9f4e48a5994e37a02baf"
)

func TestReadSubscribersCSV(t *testing.T) {
	in := "imsi,k,opc,amf,sqn\n" +
		"# a comment\n" +
		"001010000000001," + set1K + "," + set1OPc + ",8000,000000000020\n"
	subs, err := ReadSubscribersCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 1 || subs[0].IMSI != "001010000000001" || subs[0].AMF != 0x8000 || subs[0].SQN != 0x20 {
		t.Fatalf("got %+v", subs)
	}
	if got := subs[0].OPc; got != mustOPc(t, set1OPc) {
		t.Error("OPc not read")
	}
}

func TestReadSubscribersCSV_OPColumnComputesOPc(t *testing.T) {
	in := "sqn,amf,op,k,imsi\n000000000000,8000," + set1OP + "," + set1K + ",001010000000001\n"
	subs, err := ReadSubscribersCSV(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].OPc != mustOPc(t, set1OPc) {
		t.Error("OPc from OP differs from TS 35.208 set 1")
	}
}

func TestReadSubscribersCSV_Rejects(t *testing.T) {
	row := func(imsi, k, opc, amf, sqn string) string {
		return "imsi,k,opc,amf,sqn\n" + strings.Join([]string{imsi, k, opc, amf, sqn}, ",") + "\n"
	}
	for _, tc := range []struct{ name, in, want string }{
		{"empty file", "", "empty file"},
		{"missing opc and op", "imsi,k,amf,sqn\n", "missing column opc"},
		{"both op and opc", "imsi,k,op,opc,amf,sqn\n", "not both"},
		{"missing sqn", "imsi,k,opc,amf\n", "missing column sqn"},
		{"imsi with letters", row("00101abc", set1K, set1OPc, "8000", "000000000000"), "line 2: column imsi"},
		{"imsi too long", row("0010100000000011", set1K, set1OPc, "8000", "000000000000"), "column imsi"},
		{"short k", row("001010000000001", set1K[:30], set1OPc, "8000", "000000000000"), "column k: want 32 hex digits"},
		{"opc not hex", row("001010000000001", set1K, "zz"+set1OPc[2:], "8000", "000000000000"), "column opc: not hex"},
		{"amf too long", row("001010000000001", set1K, set1OPc, "80000", "000000000000"), "column amf"},
		{"sqn short", row("001010000000001", set1K, set1OPc, "8000", "00"), "column sqn"},
		{"wrong field count", "imsi,k,opc,amf,sqn\n001010000000001," + set1K + "\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadSubscribersCSV(strings.NewReader(tc.in))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to say %q", err, tc.want)
			}
			// The file holds keys: an error must never quote one.
			if strings.Contains(err.Error(), set1K[:8]) || strings.Contains(err.Error(), set1OPc[:8]) {
				t.Errorf("error quotes key material: %v", err)
			}
		})
	}
}

func TestNewMemoryStore_RejectsDuplicateIMSI(t *testing.T) {
	s := Subscriber{IMSI: "001010000000001"}
	if _, err := NewMemoryStore([]Subscriber{s, s}, testSealer); err == nil {
		t.Fatal("duplicate IMSI accepted")
	}
}

func newLocal(t *testing.T, sqn aka.SQN, amf uint16) (*Local, *MemoryStore) {
	t.Helper()
	k := mustKey(t, set1K)
	store, err := NewMemoryStore([]Subscriber{{IMSI: "001010000000001", K: k, OPc: mustOPc(t, set1OPc), AMF: amf, SQN: sqn}}, testSealer)
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewLocal(store, LocalConfig{Sealer: testSealer, INDBits: aka.DefaultINDBits})
	if err != nil {
		t.Fatal(err)
	}
	return l, store
}

// recoverSQN undoes the AK concealment of a vector, as the USIM does.
func recoverSQN(t *testing.T, v *aka.Vector) aka.SQN {
	t.Helper()
	c := milenage.New(mustKey(t, set1K), mustOPc(t, set1OPc))
	_, _, _, ak := c.F2345(&v.RAND)
	var s [6]byte
	for i := range s {
		s[i] = v.AUTN[i] ^ ak[i]
	}
	return aka.SQNFromBytes(s)
}

func TestLocal_VectorsAreFreshAndVerify(t *testing.T) {
	l, _ := newLocal(t, 0, 0x0000)
	ctx := context.Background()
	c := milenage.New(mustKey(t, set1K), mustOPc(t, set1OPc))
	var last aka.SQN
	for i := 0; i < 40; i++ { // past an IND wrap (32 with 5 bits)
		v, err := l.Vector(ctx, "001010000000001", "")
		if err != nil {
			t.Fatal(err)
		}
		if v.Prime {
			t.Fatal("EAP-AKA vector marked Prime")
		}
		sqn := recoverSQN(t, &v)
		if sqn.SEQ(aka.DefaultINDBits) <= last.SEQ(aka.DefaultINDBits) {
			t.Fatalf("vector %d: SEQ %d not above %d", i, sqn.SEQ(aka.DefaultINDBits), last.SEQ(aka.DefaultINDBits))
		}
		last = sqn
		// The AUTN MAC verifies as the USIM checks it.
		amf := [2]byte{v.AUTN[6], v.AUTN[7]}
		if mac := c.F1(&v.RAND, sqn.Bytes(), amf); string(mac[:]) != string(v.AUTN[8:16]) {
			t.Fatalf("vector %d: MAC-A does not verify", i)
		}
	}
}

func TestLocal_AKAPrimeVectorHasSeparationBitAndPrimeKeys(t *testing.T) {
	l, _ := newLocal(t, 0, 0x0000) // the AMF on file lacks the bit
	v, err := l.Vector(context.Background(), "001010000000001", "WLAN")
	if err != nil {
		t.Fatal(err)
	}
	if v.AUTN[6]&0x80 == 0 {
		t.Error("AKA' vector without the AMF separation bit (TS 33.402 6.1)")
	}
	if !v.Prime {
		t.Error("AKA' vector not marked Prime")
	}
	// CK' must be the KDF of the plain CK for this vector.
	c := milenage.New(mustKey(t, set1K), mustOPc(t, set1OPc))
	_, ck, ik, _ := c.F2345(&v.RAND)
	ckp, ikp := aka.DeriveCKIKPrime(&ck, &ik, []byte("WLAN"), v.SQNxorAK())
	if ckp != v.CK || ikp != v.IK {
		t.Error("CK'/IK' do not match TS 33.402 A.2 over this vector")
	}
}

func TestLocal_UnknownSubscriber(t *testing.T) {
	l, _ := newLocal(t, 0, 0x8000)
	_, err := l.Vector(context.Background(), "001019999999999", "")
	if !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("err = %v, want ErrUnknownSubscriber", err)
	}
}

// auts builds the AUTS a USIM holding sqnMS returns for rand (TS 33.102 6.3.3).
func auts(t *testing.T, rand *[16]byte, sqnMS aka.SQN) [14]byte {
	c := milenage.New(mustKey(t, set1K), mustOPc(t, set1OPc))
	akStar := c.F5Star(rand)
	macS := c.F1Star(rand, sqnMS.Bytes(), [2]byte{})
	var a [14]byte
	b := sqnMS.Bytes()
	for i := range 6 {
		a[i] = b[i] ^ akStar[i]
	}
	copy(a[6:], macS[:])
	return a
}

func TestLocal_ResyncMovesPastUSIMAndNeverBack(t *testing.T) {
	ctx := context.Background()
	const bits = aka.DefaultINDBits
	for _, tc := range []struct {
		name          string
		hssSEQ, msSEQ uint64
	}{
		{"USIM ahead", 1, 1000},
		{"HSS ahead", 1000, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, store := newLocal(t, aka.MakeSQN(tc.hssSEQ, 0, bits), 0x8000)
			v, err := l.Vector(ctx, "001010000000001", "")
			if err != nil {
				t.Fatal(err)
			}
			issued := recoverSQN(t, &v)
			a := auts(t, &v.RAND, aka.MakeSQN(tc.msSEQ, 3, bits))
			if err := l.Resync(ctx, "001010000000001", &v.RAND, &a); err != nil {
				t.Fatal(err)
			}
			v2, err := l.Vector(ctx, "001010000000001", "")
			if err != nil {
				t.Fatal(err)
			}
			next := recoverSQN(t, &v2)
			if next.SEQ(bits) <= tc.msSEQ || next.SEQ(bits) <= issued.SEQ(bits) {
				t.Fatalf("after resync SEQ %d, want above USIM %d and issued %d", next.SEQ(bits), tc.msSEQ, issued.SEQ(bits))
			}
			if s, _ := store.SQN("001010000000001"); s != next {
				t.Errorf("store SQN %x, want %x", s, next)
			}
		})
	}
}

func TestLocal_ResyncRejectsForgedAUTS(t *testing.T) {
	l, store := newLocal(t, 0, 0x8000)
	ctx := context.Background()
	v, _ := l.Vector(ctx, "001010000000001", "")
	before, _ := store.SQN("001010000000001")
	a := auts(t, &v.RAND, aka.MakeSQN(1<<30, 0, aka.DefaultINDBits))
	a[13] ^= 1
	if err := l.Resync(ctx, "001010000000001", &v.RAND, &a); !errors.Is(err, aka.ErrAUTSInvalid) {
		t.Fatalf("err = %v, want ErrAUTSInvalid", err)
	}
	if after, _ := store.SQN("001010000000001"); after != before {
		t.Error("a forged AUTS moved the SQN")
	}
}

// No SQN is issued twice, however many requests race.
func TestMemoryStore_ConcurrentAdvanceIsUnique(t *testing.T) {
	l, _ := newLocal(t, 0, 0x8000)
	ctx := context.Background()
	const workers, each = 8, 200
	var mu sync.Mutex
	seen := map[aka.SQN]bool{}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				v, err := l.Vector(ctx, "001010000000001", "")
				if err != nil {
					t.Error(err)
					return
				}
				s := recoverSQN(t, &v)
				mu.Lock()
				if seen[s] {
					t.Errorf("SQN %x issued twice", s)
				}
				seen[s] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != workers*each {
		t.Fatalf("%d SQNs, want %d", len(seen), workers*each)
	}
}

func TestSubscriber_StringRedactsKeys(t *testing.T) {
	s := Subscriber{IMSI: "001010000000001", K: mustKey(t, set1K), OPc: mustOPc(t, set1OPc)}
	for _, out := range []string{s.String(), s.GoString()} {
		if strings.Contains(out, "465b") || strings.Contains(out, "cd63") {
			t.Errorf("%q leaks a key", out)
		}
	}
}

func BenchmarkLocalVector(b *testing.B) {
	store, _ := NewMemoryStore([]Subscriber{{IMSI: "001010000000001", K: mustKey(b, set1K), OPc: mustOPc(b, set1OPc), AMF: 0x8000}}, testSealer)
	l, _ := NewLocal(store, LocalConfig{Sealer: testSealer, INDBits: aka.DefaultINDBits})
	ctx := context.Background()
	for _, nn := range []string{"", "WLAN"} {
		name := "aka"
		if nn != "" {
			name = "aka-prime"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := l.Vector(ctx, "001010000000001", nn); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
