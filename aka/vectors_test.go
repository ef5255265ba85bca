package aka

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"
)

// The test vectors, in this package's testdata so that the tests run in a
// plain clone. See testdata/README.md for their sources (3GPP TS 35.208,
// RFC 5448/9048, RFC 4186, FIPS 186-2, FreeRADIUS unit tests).
const (
	milenageFile = "testdata/milenage.json"
	primeFile    = "testdata/aka_prime_kdf.json"
	prfFile      = "testdata/aka_prf.json"
)

// loadJSON reads a vector file into v. A missing or malformed file fails the
// test rather than skipping it: a skipped conformance test proves nothing.
func loadJSON(tb testing.TB, path string, v any) {
	tb.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("reading test vectors: %v", err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		tb.Fatalf("parsing %s: %v", path, err)
	}
}

// hexBytes decodes a hex string field.
type hexBytes []byte

func (h *hexBytes) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	d, err := hex.DecodeString(s)
	*h = d
	return err
}

// fill copies a decoded field into a fixed-size array's slice, failing on a
// length mismatch.
func fill(tb testing.TB, dst, src []byte) {
	tb.Helper()
	if len(src) != len(dst) {
		tb.Fatalf("vector field has %d octets, want %d", len(src), len(dst))
	}
	copy(dst, src)
}

func checkBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if hex.EncodeToString(got) != hex.EncodeToString(want) {
		t.Errorf("%s = %x, want %x", what, got, want)
	}
}

type milenageSet struct {
	Name   string   `json:"name"`
	K      hexBytes `json:"k"`
	RAND   hexBytes `json:"rand"`
	SQN    hexBytes `json:"sqn"`
	AMF    hexBytes `json:"amf"`
	OPc    hexBytes `json:"opc"`
	MACA   hexBytes `json:"f1_mac_a"`
	MACS   hexBytes `json:"f1_star_mac_s"`
	RES    hexBytes `json:"f2_res"`
	CK     hexBytes `json:"f3_ck"`
	IK     hexBytes `json:"f4_ik"`
	AK     hexBytes `json:"f5_ak"`
	AKStar hexBytes `json:"f5_star_ak"`
}

func loadMilenage(tb testing.TB) []milenageSet {
	var doc struct {
		Sets []milenageSet `json:"sets"`
	}
	loadJSON(tb, milenageFile, &doc)
	if len(doc.Sets) != 20 {
		tb.Fatalf("%s: %d sets, want 20", milenageFile, len(doc.Sets))
	}
	return doc.Sets
}

// set19 is TS 35.208 test set 19, whose outputs RFC 5448 Appendix C cases 1
// and 2 (and the EAP-AKA vector) reuse.
func set19(tb testing.TB) milenageSet {
	s := loadMilenage(tb)[18]
	if s.Name != "TS 35.208 test set 19" {
		tb.Fatalf("sets[18] is %q, want TS 35.208 test set 19", s.Name)
	}
	return s
}

type primeCase struct {
	Name        string   `json:"name"`
	Identity    string   `json:"identity"`
	NetworkName string   `json:"network_name"`
	RAND        hexBytes `json:"rand"`
	AUTN        hexBytes `json:"autn"`
	SQNxorAK    hexBytes `json:"sqn_xor_ak"`
	IK          hexBytes `json:"ik"`
	CK          hexBytes `json:"ck"`
	RES         hexBytes `json:"res"`
	CKPrime     hexBytes `json:"ck_prime"`
	IKPrime     hexBytes `json:"ik_prime"`
	KEncr       hexBytes `json:"k_encr"`
	KAut        hexBytes `json:"k_aut"`
	KRe         hexBytes `json:"k_re"`
	MSK         hexBytes `json:"msk"`
	EMSK        hexBytes `json:"emsk"`
}

type primeReauthCase struct {
	Name     string   `json:"name"`
	Identity string   `json:"identity"`
	Counter  uint16   `json:"counter"`
	NonceS   hexBytes `json:"nonce_s"`
	KRe      hexBytes `json:"k_re"`
	MSK      hexBytes `json:"msk"`
	EMSK     hexBytes `json:"emsk"`
}

type primeDoc struct {
	Cases      []primeCase       `json:"cases"`
	FastReauth []primeReauthCase `json:"fast_reauth_cases"`
}

func loadPrime(tb testing.TB) primeDoc {
	var doc primeDoc
	loadJSON(tb, primeFile, &doc)
	if len(doc.Cases) != 4 || len(doc.FastReauth) != 1 {
		tb.Fatalf("%s: %d cases and %d fast_reauth_cases, want 4 and 1",
			primeFile, len(doc.Cases), len(doc.FastReauth))
	}
	return doc
}

type prfDoc struct {
	FIPS []struct {
		Name        string   `json:"name"`
		XKEY        hexBytes `json:"xkey"`
		XSEED       hexBytes `json:"xseed"`
		XKEYAfterW0 hexBytes `json:"xkey_after_w0"`
		XKEYAfterW1 hexBytes `json:"xkey_after_w1"`
		Output      hexBytes `json:"output"`
	} `json:"fips186_2_prf"`
	SIM []struct {
		Name            string   `json:"name"`
		Identity        string   `json:"identity"`
		NonceMT         hexBytes `json:"nonce_mt"`
		VersionList     hexBytes `json:"version_list"`
		SelectedVersion hexBytes `json:"selected_version"`
		Triplets        []struct {
			Kc hexBytes `json:"kc"`
		} `json:"triplets"`
		MK    hexBytes `json:"mk"`
		KEncr hexBytes `json:"k_encr"`
		KAut  hexBytes `json:"k_aut"`
		MSK   hexBytes `json:"msk"`
		EMSK  hexBytes `json:"emsk"`
	} `json:"eap_sim_full_auth"`
	AKA []struct {
		Name     string   `json:"name"`
		Identity string   `json:"identity"`
		IK       hexBytes `json:"ik"`
		CK       hexBytes `json:"ck"`
		MK       hexBytes `json:"mk_computed"`
		KEncr    hexBytes `json:"k_encr"`
		KAut     hexBytes `json:"k_aut"`
		MSK      hexBytes `json:"msk"`
		EMSK     hexBytes `json:"emsk"`
	} `json:"eap_aka_full_auth"`
	Reauth []struct {
		Name     string   `json:"name"`
		Identity string   `json:"identity"`
		Counter  uint16   `json:"counter"`
		NonceS   hexBytes `json:"nonce_s"`
		MK       hexBytes `json:"mk"`
		XKEY     hexBytes `json:"xkey_prime_computed"`
		MSK      hexBytes `json:"msk"`
		EMSK     hexBytes `json:"emsk"`
	} `json:"fast_reauth"`
}

func loadPRF(tb testing.TB) prfDoc {
	var doc prfDoc
	loadJSON(tb, prfFile, &doc)
	if len(doc.FIPS) != 1 || len(doc.SIM) != 1 || len(doc.AKA) != 1 || len(doc.Reauth) != 1 {
		tb.Fatalf("%s: want one vector in each section", prfFile)
	}
	return doc
}
