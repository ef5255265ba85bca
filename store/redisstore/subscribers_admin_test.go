package redisstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/eap"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/internal/redistest"
)

// adminKEK is a key-encryption key of the rewrap tests.
func adminKEK(id string, b byte) hss.KEK {
	k := hss.KEK{ID: id}
	for i := range k.Key {
		k.Key[i] = b + byte(i)
	}
	return k
}

func adminSealer(t testing.TB, keks ...hss.KEK) *hss.Sealer {
	t.Helper()
	s, err := hss.NewSealer(keks)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// adminEntries are n subscribers from IMSI 00101000000{start}, each with
// keys of its own sealed by sealer and SQN 32*i.
func adminEntries(sealer *hss.Sealer, start, n int) []Entry {
	es := make([]Entry, n)
	for i := range es {
		var sub hss.Subscriber
		sub.IMSI = fmt.Sprintf("00101%010d", start+i)
		sub.K[0], sub.OPc[0] = byte(i), byte(i>>8)
		es[i] = Entry{IMSI: sub.IMSI, SQN: aka.SQN(32 * i),
			Record: hss.Record{Sealed: sealer.Seal(sub.IMSI, &sub.K, &sub.OPc), AMF: 0x8000}}
	}
	return es
}

func imsisOf(es []Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.IMSI
	}
	return out
}

// scanAll returns what ScanIMSIs gives, sorted, and fails t on an IMSI
// given twice (on a store this small SCAN does not repeat itself).
func scanAll(t *testing.T, s *SubscriberStore) []string {
	t.Helper()
	var got []string
	if err := s.ScanIMSIs(context.Background(), func(imsis []string) error {
		got = append(got, imsis...)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if c := slices.Compact(slices.Clone(got)); len(c) != len(got) {
		t.Errorf("ScanIMSIs gave %d IMSIs, %d of them distinct", len(got), len(c))
	}
	return got
}

// Create writes new subscribers and leaves every stored one as it was,
// naming each; what it wrote is listed.
func TestSubscriberAdmin_CreateNeverOverwrites(t *testing.T) {
	ctx := context.Background()
	s := NewSubscriberStore(newClient(t, redistest.Start(t)), "")
	sealer := hss.NewEphemeralSealer()
	es := adminEntries(sealer, 1, 600) // more than one batch
	first := []Entry{es[3], es[400]}
	first[0].SQN = 7 << aka.DefaultINDBits
	if stored, err := s.Create(ctx, first, aka.DefaultINDBits); err != nil || len(stored) != 2 {
		t.Fatalf("stored %v, err %v", stored, err)
	}
	stored, err := s.Create(ctx, es, aka.DefaultINDBits)
	if !errors.Is(err, ErrSubscriberExists) {
		t.Fatalf("err = %v, want ErrSubscriberExists", err)
	}
	for _, imsi := range []string{es[3].IMSI, es[400].IMSI} {
		if !strings.Contains(err.Error(), imsi) {
			t.Errorf("the error does not name %s: %v", imsi, err)
		}
	}
	if len(stored) != 598 || slices.Contains(stored, es[3].IMSI) || stored[0] != es[0].IMSI {
		t.Fatalf("stored %d (first %s), want the 598 new ones in order", len(stored), stored[0])
	}
	// The one stored first kept its SQN and keys.
	got, err := s.Get(ctx, es[3].IMSI, aka.DefaultINDBits)
	if err != nil || got.SQN != 7<<aka.DefaultINDBits || string(got.Record.Sealed) != string(first[0].Record.Sealed) {
		t.Fatalf("Get = %v (SQN %d), %v; want the first record kept", got, got.SQN, err)
	}
	got, err = s.Get(ctx, es[5].IMSI, aka.DefaultINDBits)
	if err != nil || got.SQN != es[5].SQN || got.Record.AMF != 0x8000 {
		t.Fatalf("Get = %v (SQN %d), %v", got, got.SQN, err)
	}
	if _, err := s.Get(ctx, "001019999999999", aka.DefaultINDBits); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Fatalf("Get of an unknown subscriber: %v", err)
	}
}

// Existing and GetMany skip what is not stored; PutMany replaces keys but
// never lowers an SQN.
func TestSubscriberAdmin_ExistingGetManyPutMany(t *testing.T) {
	ctx := context.Background()
	s := NewSubscriberStore(newClient(t, redistest.Start(t)), "")
	sealer := hss.NewEphemeralSealer()
	es := adminEntries(sealer, 1, 300)
	if _, err := s.PutMany(ctx, es[:200], aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	imsis := append(imsisOf(es[150:]), "001019999999999")
	have, err := s.Existing(ctx, imsis)
	if err != nil || !slices.Equal(have, imsisOf(es[150:200])) {
		t.Fatalf("Existing = %d IMSIs, %v; want the 50 stored", len(have), err)
	}
	got, err := s.GetMany(ctx, imsis, aka.DefaultINDBits)
	if err != nil || len(got) != 50 || got[0].IMSI != es[150].IMSI || got[0].SQN != es[150].SQN {
		t.Fatalf("GetMany = %d entries, %v", len(got), err)
	}
	again := adminEntries(sealer, 1, 2)
	again[1].SQN = 0 // lower than stored
	again[0].SQN = 1 << 20
	if stored, err := s.PutMany(ctx, again, aka.DefaultINDBits); err != nil || len(stored) != 2 {
		t.Fatalf("PutMany: %v %v", stored, err)
	}
	for i, want := range []aka.SQN{1 << 20, es[1].SQN} {
		e, err := s.Get(ctx, again[i].IMSI, aka.DefaultINDBits)
		if err != nil || e.SQN != want || string(e.Record.Sealed) != string(again[i].Record.Sealed) {
			t.Errorf("%s: SQN %d, %v; want %d and the new keys", again[i].IMSI, e.SQN, err, want)
		}
	}
}

// Delete takes the subscriber's pseudonym and re-authentication context
// with it: a context left behind would let the device re-authenticate.
func TestSubscriberAdmin_Delete(t *testing.T) {
	ctx := context.Background()
	rdb := newClient(t, redistest.Start(t))
	s := NewSubscriberStore(rdb, "")
	eapStore := NewEAPStore(rdb, EAPConfig{})
	es := adminEntries(hss.NewEphemeralSealer(), 1, 2)
	if _, err := s.Create(ctx, es, aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	exp := time.Now().Add(time.Hour)
	for _, e := range es {
		if err := eapStore.PutPseudonym(ctx, "7p"+e.IMSI, eap.PseudonymRecord{IMSI: e.IMSI, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := eapStore.PutReauth(ctx, "8r"+e.IMSI, &eap.ReauthRecord{IMSI: e.IMSI, Method: eap.TypeAKAPrime, FullAuthAt: time.Now(), Expires: exp, KAutLen: 32}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Delete(ctx, es[0].IMSI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Record(ctx, es[0].IMSI); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Errorf("Record after Delete: %v", err)
	}
	// As another node sees it: the node that handed the pseudonym out
	// may still resolve it from its own cache, to a subscriber that no
	// longer authenticates.
	other := NewEAPStore(rdb, EAPConfig{})
	if _, err := other.GetPseudonym(ctx, "7p"+es[0].IMSI); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Errorf("the pseudonym outlived its subscriber: %v", err)
	}
	var rec eap.ReauthRecord
	if err := eapStore.TakeReauth(ctx, "8r"+es[0].IMSI, &rec); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Errorf("the re-authentication context outlived its subscriber: %v", err)
	}
	if n, _ := rdb.Exists(ctx, "aaa:s:{"+es[0].IMSI+"}:p", "aaa:s:{"+es[0].IMSI+"}:r").Result(); n != 0 {
		t.Errorf("%d pointer keys left", n)
	}
	// The other subscriber keeps everything.
	if _, err := eapStore.GetPseudonym(ctx, "7p"+es[1].IMSI); err != nil {
		t.Errorf("the other subscriber's pseudonym: %v", err)
	}
	if err := s.Delete(ctx, es[0].IMSI); !errors.Is(err, aka.ErrUnknownSubscriber) {
		t.Errorf("Delete again: %v, want ErrUnknownSubscriber", err)
	}
}

// ScanIMSIs finds every subscriber and nothing else: not their pointer
// keys, not conversations, not another prefix's subscribers, with a
// prefix that holds glob characters.
func TestSubscriberAdmin_ScanIMSIs(t *testing.T) {
	ctx := context.Background()
	rdb := newClient(t, redistest.Start(t))
	sealer := hss.NewEphemeralSealer()
	for _, prefix := range []string{"aaa:", "a*[x]?:"} {
		t.Run(prefix, func(t *testing.T) {
			rdb.FlushAll(ctx)
			s := NewSubscriberStore(rdb, prefix)
			es := adminEntries(sealer, 1, 2500) // several SCAN pages
			if _, err := s.Create(ctx, es, aka.DefaultINDBits); err != nil {
				t.Fatal(err)
			}
			// Keys that are no subscriber record of this prefix.
			other := NewSubscriberStore(rdb, "aab:")
			if _, err := other.Create(ctx, adminEntries(sealer, 9000, 5), aka.DefaultINDBits); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{prefix + "s:{" + es[0].IMSI + "}:p", prefix + "s:{" + es[1].IMSI + "}:r",
				prefix + "s:{notdigits}", prefix + "s:{1}x}", prefix + "c:{00}", "aaa:s:{1234567}"} {
				if k == "aaa:s:{1234567}" && prefix == "aaa:" {
					continue
				}
				rdb.Set(ctx, k, "x", 0)
			}
			if got := scanAll(t, s); !slices.Equal(got, imsisOf(es)) {
				t.Fatalf("scanned %d IMSIs, want %d (first %v)", len(got), len(es), got[:min(3, len(got))])
			}
		})
	}
}

// An error of the callback stops the scan and comes back as it is.
func TestSubscriberAdmin_ScanStopsOnError(t *testing.T) {
	ctx := context.Background()
	s := NewSubscriberStore(newClient(t, redistest.Start(t)), "")
	if _, err := s.Create(ctx, adminEntries(hss.NewEphemeralSealer(), 1, 3000), aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	stop := errors.New("stop")
	calls := 0
	err := s.ScanIMSIs(ctx, func([]string) error { calls++; return stop })
	if err != stop || calls != 1 {
		t.Fatalf("err = %v after %d calls, want stop after 1", err, calls)
	}
}

// Rewrap seals every record under the first key, so the old one can go;
// one that does not open is reported and keeps its record; one changed
// between the read and the swap is read again, not overwritten.
func TestSubscriberAdmin_Rewrap(t *testing.T) {
	ctx := context.Background()
	s := NewSubscriberStore(newClient(t, redistest.Start(t)), "")
	oldKEK, newKEK, lostKEK := adminKEK("2026", 1), adminKEK("2027", 101), adminKEK("lost", 201)
	old := adminSealer(t, oldKEK)
	es := adminEntries(old, 1, 300)
	es = append(es, adminEntries(adminSealer(t, lostKEK), 1000, 1)...)
	if _, err := s.Create(ctx, es, aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	both := adminSealer(t, newKEK, oldKEK)
	// The first time it sees es[7], the function writes a new record
	// for it (as an add --update would) before the swap.
	raced := es[7]
	var sub hss.Subscriber
	sub.K[0] = 0xee
	raced.Record.Sealed = both.Seal(raced.IMSI, &sub.K, &sub.OPc)
	var once sync.Once
	rewrap := func(imsi string, sealed []byte) ([]byte, error) {
		if imsi == raced.IMSI {
			once.Do(func() {
				if _, err := s.PutMany(ctx, []Entry{raced}, aka.DefaultINDBits); err != nil {
					t.Error(err)
				}
			})
		}
		return both.Rewrap(imsi, sealed)
	}
	imsis := append(imsisOf(es), "001019999999999")
	res, err := s.Rewrap(ctx, imsis, rewrap)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rewrapped != 299 || res.Current != 1 || res.Gone != 1 || len(res.Failed) != 1 || res.Failed[0].IMSI != es[300].IMSI {
		t.Fatalf("result %+v, want 299 rewrapped, 1 current (the raced one), 1 gone, 1 failed", res)
	}
	if !errors.Is(res.Failed[0].Err, hss.ErrSealedKey) {
		t.Errorf("failure %v, want ErrSealedKey", res.Failed[0].Err)
	}
	// The old key can go: every record but the lost one opens under the
	// new one alone, the raced one with the keys written meanwhile.
	newOnly := adminSealer(t, newKEK)
	got, err := s.GetMany(ctx, imsisOf(es[:300]), aka.DefaultINDBits)
	if err != nil || len(got) != 300 {
		t.Fatal(len(got), err)
	}
	for i, e := range got {
		k, opc, err := newOnly.Open(e.IMSI, e.Record.Sealed)
		switch {
		case err != nil:
			t.Fatalf("%s does not open under the new key: %v", e.IMSI, err)
		case e.IMSI == raced.IMSI && k[0] != 0xee:
			t.Fatalf("the raced record was overwritten with the old keys")
		case e.IMSI != raced.IMSI && (k[0] != byte(i) || opc[0] != byte(i>>8)):
			t.Fatalf("%s opens to other keys", e.IMSI)
		}
		if id, _ := hss.KeyID(e.Record.Sealed); id != "2027" {
			t.Fatalf("%s sealed under %s", e.IMSI, id)
		}
	}
	// Again: nothing left to do.
	res, err = s.Rewrap(ctx, imsisOf(es[:300]), both.Rewrap)
	if err != nil || res.Rewrapped != 0 || res.Current != 300 {
		t.Fatalf("second run %+v, %v", res, err)
	}
}

// On a Redis Cluster of three masters the scan visits every master, and
// create, delete (one slot's MULTI) and rewrap (WATCH) work.
func TestSubscriberAdmin_Cluster(t *testing.T) {
	ctx := context.Background()
	cluster := redistest.StartCluster(t, 3)
	cfg := Config{Addrs: cluster.Addrs, Timeout: 2 * time.Second}
	cfg.SetDefaults()
	rdb := NewClient(cfg)
	t.Cleanup(func() { rdb.Close() })
	if _, ok := rdb.(*redis.ClusterClient); !ok {
		t.Fatalf("a %T, want a *redis.ClusterClient", rdb)
	}
	s := NewSubscriberStore(rdb, "")
	oldKEK, newKEK := adminKEK("2026", 1), adminKEK("2027", 101)
	es := adminEntries(adminSealer(t, oldKEK), 1, 900)
	if stored, err := s.Create(ctx, es, aka.DefaultINDBits); err != nil || len(stored) != 900 {
		t.Fatalf("stored %d: %v", len(stored), err)
	}
	if _, err := s.Create(ctx, es[:1], aka.DefaultINDBits); !errors.Is(err, ErrSubscriberExists) {
		t.Fatalf("Create again: %v", err)
	}
	if got := scanAll(t, s); !slices.Equal(got, imsisOf(es)) {
		t.Fatalf("scanned %d IMSIs on the cluster, want %d", len(got), len(es))
	}
	both := adminSealer(t, newKEK, oldKEK)
	if res, err := s.Rewrap(ctx, imsisOf(es), both.Rewrap); err != nil || res.Rewrapped != 900 {
		t.Fatalf("rewrap %+v, %v", res, err)
	}
	newOnly := adminSealer(t, newKEK)
	e, err := s.Get(ctx, es[123].IMSI, aka.DefaultINDBits)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := newOnly.Open(e.IMSI, e.Record.Sealed); err != nil {
		t.Fatal(err)
	}
	eapStore := NewEAPStore(rdb, EAPConfig{})
	if err := eapStore.PutPseudonym(ctx, "7pseudo", eap.PseudonymRecord{IMSI: es[5].IMSI, Expires: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, es[5].IMSI); err != nil {
		t.Fatal(err)
	}
	if _, err := NewEAPStore(rdb, EAPConfig{}).GetPseudonym(ctx, "7pseudo"); !errors.Is(err, eap.ErrRecordNotFound) {
		t.Errorf("pseudonym after Delete: %v", err)
	}
	if got := scanAll(t, s); len(got) != 899 || slices.Contains(got, es[5].IMSI) {
		t.Fatalf("scanned %d after a delete", len(got))
	}
}

// An authentication already past its challenge when its subscriber was
// deleted still finishes and hands out a re-authentication context. With
// the subscribers in this Redis, that context is not honoured: a fast
// re-authentication asks the HSS nothing, so the deleted device would
// otherwise come back.
func TestSubscriberAdmin_DeletedSubscriberNoFastReauth(t *testing.T) {
	ctx := context.Background()
	rdb := newClient(t, redistest.Start(t))
	s := NewSubscriberStore(rdb, "")
	es := adminEntries(hss.NewEphemeralSealer(), 1, 1)
	if _, err := s.Create(ctx, es, aka.DefaultINDBits); err != nil {
		t.Fatal(err)
	}
	imsi := es[0].IMSI
	if err := s.Delete(ctx, imsi); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		here bool
		want error
	}{
		{true, eap.ErrRecordNotFound},
		{false, nil}, // subscribers elsewhere (an HSS over SWx): not this store's to judge
	} {
		st := NewEAPStore(rdb, EAPConfig{SubscribersHere: tc.here})
		rec := eap.ReauthRecord{IMSI: imsi, Method: eap.TypeAKAPrime, FullAuthAt: time.Now(), Expires: time.Now().Add(time.Hour), KAutLen: 32}
		if err := st.PutReauth(ctx, "8late", &rec); err != nil {
			t.Fatal(err)
		}
		var got eap.ReauthRecord
		if err := st.TakeReauth(ctx, "8late", &got); !errors.Is(err, tc.want) {
			t.Fatalf("subscribers here %v: take: %v, want %v", tc.here, err, tc.want)
		}
	}
}
