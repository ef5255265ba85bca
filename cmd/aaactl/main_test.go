package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// TS 35.208 test set 1 (aka/testdata/milenage.json).
var set1 = []string{
	"--k", "465b5ce8b199b49faa5f0a2ee238a6bc",
	"--rand", "23553cbe9637a89d218ae64dae47bf35",
	"--sqn", "ff9bb4d0b607",
	"--amf", "b9b9",
}

func TestVector_TS35208Set1(t *testing.T) {
	for _, tc := range []struct {
		name string
		key  []string
	}{
		{"from OPc", []string{"--opc", "cd63cb71954a9f4e48a5994e37a02baf"}},
		{"from OP", []string{"--op", "cdc202d5123e20f62b6d676ac72cb318"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(append(append([]string{"vector"}, set1...), tc.key...), &out, &errOut); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut.String())
			}
			var v vectorJSON
			if err := json.Unmarshal(out.Bytes(), &v); err != nil {
				t.Fatal(err)
			}
			want := vectorJSON{
				RAND: "23553cbe9637a89d218ae64dae47bf35", SQN: "ff9bb4d0b607", AMF: "b9b9",
				AK: "aa689c648370", MACA: "4a9ffac354dfafb3", XRES: "a54211d5e3ba50bf",
				// AUTN = SQN xor AK || AMF || MAC-A
				AUTN: "55f328b43577b9b94a9ffac354dfafb3",
				CK:   "b40ba9a3c58b2a05bbf0d987b21bf8cb", IK: "f769bcd751044604127672711c6d3441",
			}
			if v != want {
				t.Errorf("got  %+v\nwant %+v", v, want)
			}
		})
	}
}

func TestVector_PrimeKeysWithNetworkName(t *testing.T) {
	var out, errOut bytes.Buffer
	args := append(append([]string{"vector"}, set1...), "--opc", "cd63cb71954a9f4e48a5994e37a02baf", "--network-name", "WLAN")
	if code := run(args, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	var v vectorJSON
	if err := json.Unmarshal(out.Bytes(), &v); err != nil {
		t.Fatal(err)
	}
	if len(v.CKPrime) != 32 || len(v.IKPrime) != 32 || v.CKPrime == v.CK {
		t.Errorf("ck_prime/ik_prime missing or wrong: %+v", v)
	}
}

func TestVector_RejectsBadInput(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no opc or op", append([]string{"vector"}, set1...), "--opc or --op is required"},
		{"short k", []string{"vector", "--k", "46", "--opc", "cd63cb71954a9f4e48a5994e37a02baf", "--rand", "23553cbe9637a89d218ae64dae47bf35", "--sqn", "ff9bb4d0b607", "--amf", "b9b9"}, "--k: want 32 hex digits"},
		{"not hex", append(append([]string{"vector"}, set1...), "--opc", "zz63cb71954a9f4e48a5994e37a02baf"), "--opc: not hex"},
		{"both op and opc", append(append([]string{"vector"}, set1...), "--opc", "cd63cb71954a9f4e48a5994e37a02baf", "--op", "cdc202d5123e20f62b6d676ac72cb318"), "not both"},
		{"unknown command", []string{"vectors"}, "unknown command"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if code := run(tc.args, &out, &errOut); code == 0 {
				t.Fatal("exit 0, want failure")
			}
			if !strings.Contains(errOut.String(), tc.want) {
				t.Errorf("stderr %q does not say %q", errOut.String(), tc.want)
			}
			// Errors must never echo key material.
			if strings.Contains(errOut.String(), "465b5ce8") || strings.Contains(errOut.String(), "cd63cb71") {
				t.Errorf("stderr leaks a key: %q", errOut.String())
			}
		})
	}
}

// A key typed where it does not belong (a flag's value missing, so the
// key is taken as an argument; a key typed as a flag) is never echoed.
func TestRun_ErrorsDoNotEchoKeys(t *testing.T) {
	const key = "000102030405060708090a0b0c0d0e0f"
	for _, args := range [][]string{
		{"subscriber", "add", "--imsi", "001010000000001", "--k", "--opc", key},
		{"subscriber", "add", "--imsi", "001010000000001", key},
		{"subscriber", "add", "--" + key},
		{"subscriber", "add", "--imsi=" + key},
		{"subscriber", "export", key},
		{"vector", "--k", "--opc", key},
		{"vector", "--" + key},
		{"vector", key},
	} {
		var stdout, stderr bytes.Buffer
		code := run(args, &stdout, &stderr)
		if code == 0 {
			t.Errorf("%q: exit 0", args)
		}
		if strings.Contains(stderr.String()+stdout.String(), key) || strings.Contains(stderr.String(), key[:16]) {
			t.Errorf("%q: the key reached the output: %s", args, stderr.String())
		}
	}
}
