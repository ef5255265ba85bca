package hss

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReadSubscribersCSV: any file is read or refused without a panic, and
// an error never carries the key material of the file (a K, OPc or OP).
func FuzzReadSubscribersCSV(f *testing.F) {
	const k = "465b5ce8b199b49faa5f0a2ee238a6bc"
	for _, seed := range []string{
		"imsi,k,opc,amf,sqn\n001010000000001," + k + ",cd63cb71954a9f4e48a5994e37a02baf,8000,000000000000\n",
		"\ufeffimsi,k,op,amf,sqn\r001010000000001," + k + "," + k + ",8000,000000000000\r",
		"imsi,k,opc,amf,sqn\n001010000000001," + k + "\n",
		"imsi," + k + ",opc,amf,sqn\n",
		"imsi,k,opc,amf,sqn\n001010000000001," + k + ",zz,8000,0\n001010000000001," + k + "," + k + ",8000,000000000000\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		subs, err := ReadSubscribersCSV(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), k) {
				t.Fatalf("error carries key material: %v", err)
			}
			return
		}
		for _, s := range subs {
			if !validIMSI(s.IMSI) {
				t.Fatalf("accepted IMSI %q", s.IMSI)
			}
		}
	})
}
