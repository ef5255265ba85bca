package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/aaa-project/aaa/hss"
)

func TestSubscribersCSV_RoundTripsThroughTheHSSReader(t *testing.T) {
	var out, errb bytes.Buffer
	if code := realMain([]string{"subscribers", "--count", "250", "--imsi-base", "001010000000990"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	subs, err := hss.ReadSubscribersCSV(bytes.NewReader(out.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(subs) != 250 {
		t.Fatalf("%d subscribers", len(subs))
	}
	keys := map[[16]byte]bool{}
	for i, s := range subs {
		want := "00101000000" + itoa4(990+i)
		if s.IMSI != want || s.AMF != 0x8000 || s.SQN != 0 {
			t.Fatalf("row %d: IMSI %s AMF %04x SQN %d", i, s.IMSI, s.AMF, s.SQN)
		}
		if keys[s.K] || [16]byte(s.K) == [16]byte(s.OPc) {
			t.Fatalf("row %d: K not random", i)
		}
		keys[s.K] = true
	}
}

func itoa4(n int) string {
	b := []byte("0000")
	for i := 3; i >= 0; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return string(b)
}

func TestSubscribersCSV_FileAndErrors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "subs.csv")
	var out, errb bytes.Buffer
	if code := realMain([]string{"subscribers", "--count", "3", "--out", path}, &out, &errb); code != 0 || out.Len() != 0 {
		t.Fatalf("exit %d, stdout %q: %s", code, out.String(), errb.String())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if subs, err := hss.ReadSubscribersCSV(bytes.NewReader(data)); err != nil || len(subs) != 3 || subs[0].IMSI != "001010000000000" {
		t.Fatalf("%v %v", subs, err)
	}
	for _, args := range [][]string{
		{"subscribers"},
		{"subscribers", "--count", "-1"},
		{"subscribers", "--count", "2", "--imsi-base", "12ab"},
		{"subscribers", "--count", "20", "--imsi-base", "999999999999990"},
	} {
		if code := realMain(args, &out, &errb); code != 2 {
			t.Errorf("%v: exit %d, want 2", args, code)
		}
	}
}
