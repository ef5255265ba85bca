package hss

import (
	"strings"
	"testing"
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

func TestSubscriber_StringRedactsKeys(t *testing.T) {
	s := Subscriber{IMSI: "001010000000001", K: mustKey(t, set1K), OPc: mustOPc(t, set1OPc)}
	for _, out := range []string{s.String(), s.GoString()} {
		if strings.Contains(out, "465b") || strings.Contains(out, "cd63") {
			t.Errorf("%q leaks a key", out)
		}
	}
}
