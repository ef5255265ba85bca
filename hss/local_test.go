package hss_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/milenage"
	"github.com/aaa-project/aaa/store/memory"
)

// Local's tests run it over the subscriber store of store/memory, which
// imports hss: so they are in package hss_test (export_test.go lends them
// what they need of package hss's own tests).

func newLocal(t *testing.T, sqn aka.SQN, amf uint16) (*hss.Local, *memory.SubscriberStore) {
	t.Helper()
	k := hss.MustKey(t, hss.Set1K)
	store, err := memory.NewSubscriberStore([]hss.Subscriber{{IMSI: "001010000000001", K: k, OPc: hss.MustOPc(t, hss.Set1OPc), AMF: amf, SQN: sqn}}, hss.TestSealer)
	if err != nil {
		t.Fatal(err)
	}
	l, err := hss.NewLocal(store, hss.LocalConfig{Sealer: hss.TestSealer, INDBits: aka.DefaultINDBits})
	if err != nil {
		t.Fatal(err)
	}
	return l, store
}

// recoverSQN undoes the AK concealment of a vector, as the USIM does.
func recoverSQN(t *testing.T, v *aka.Vector) aka.SQN {
	t.Helper()
	c := milenage.New(hss.MustKey(t, hss.Set1K), hss.MustOPc(t, hss.Set1OPc))
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
	c := milenage.New(hss.MustKey(t, hss.Set1K), hss.MustOPc(t, hss.Set1OPc))
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
	c := milenage.New(hss.MustKey(t, hss.Set1K), hss.MustOPc(t, hss.Set1OPc))
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
	c := milenage.New(hss.MustKey(t, hss.Set1K), hss.MustOPc(t, hss.Set1OPc))
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
			v2, err := l.Resync(ctx, "001010000000001", "", &v.RAND, &a)
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
	if _, err := l.Resync(ctx, "001010000000001", "", &v.RAND, &a); !errors.Is(err, aka.ErrAUTSInvalid) {
		t.Fatalf("err = %v, want ErrAUTSInvalid", err)
	}
	if after, _ := store.SQN("001010000000001"); after != before {
		t.Error("a forged AUTS moved the SQN")
	}
}

// No SQN is issued twice, however many requests race.
func TestLocal_ConcurrentAdvanceIsUnique(t *testing.T) {
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

func BenchmarkLocalVector(b *testing.B) {
	store, _ := memory.NewSubscriberStore([]hss.Subscriber{{IMSI: "001010000000001", K: hss.MustKey(b, hss.Set1K), OPc: hss.MustOPc(b, hss.Set1OPc), AMF: 0x8000}}, hss.TestSealer)
	l, _ := hss.NewLocal(store, hss.LocalConfig{Sealer: hss.TestSealer, INDBits: aka.DefaultINDBits})
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
