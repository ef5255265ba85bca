package eap

import (
	"bytes"
	"testing"
)

func TestParseIdentity(t *testing.T) {
	for _, tc := range []struct {
		in     string
		kind   IdentityKind
		method Type
		value  string
		realm  string
	}{
		{"0001010000000001@wlan.mnc001.mcc001.3gppnetwork.org", IdentityPermanent, TypeAKA, "001010000000001", "wlan.mnc001.mcc001.3gppnetwork.org"},
		{"6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org", IdentityPermanent, TypeAKAPrime, "001010000000001", "wlan.mnc001.mcc001.3gppnetwork.org"},
		{"6001010000000001", IdentityPermanent, TypeAKAPrime, "001010000000001", ""},
		{"0123456", IdentityPermanent, TypeAKA, "123456", ""},
		{"2abcdef@realm", IdentityPseudonym, TypeAKA, "abcdef", "realm"},
		{"7abcdef@realm", IdentityPseudonym, TypeAKAPrime, "abcdef", "realm"},
		{"4reauth@realm", IdentityReauth, TypeAKA, "reauth", "realm"},
		{"8reauth@realm", IdentityReauth, TypeAKAPrime, "reauth", "realm"},
		// Unusable: anonymous, no or foreign prefix, bad IMSI.
		{"anonymous@realm", IdentityUnknown, 0, "", ""},
		{"1001010000000001@realm", IdentityUnknown, 0, "", ""},
		{"5001010000000001@realm", IdentityUnknown, 0, "", ""},
		{"601010@realm", IdentityUnknown, 0, "", ""},            // IMSI of 5 digits
		{"60010100000000012@realm", IdentityUnknown, 0, "", ""}, // 16 digits
		{"600101000000000a@realm", IdentityUnknown, 0, "", ""},
		{"6@realm", IdentityUnknown, 0, "", ""},
		{"@realm", IdentityUnknown, 0, "", ""},
		{"", IdentityUnknown, 0, "", ""},
		{"6", IdentityUnknown, 0, "", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			id := ParseIdentity([]byte(tc.in))
			if id.Kind != tc.kind || id.Method != tc.method || string(id.Value) != tc.value || string(id.Realm) != tc.realm {
				t.Errorf("got kind %s method %d value %q realm %q", id.Kind, id.Method, id.Value, id.Realm)
			}
		})
	}
}

func TestParseIdentity_RejectsOverlong(t *testing.T) {
	long := append([]byte("6001010000000001@"), bytes.Repeat([]byte("a"), 300)...)
	if id := ParseIdentity(long); id.Kind != IdentityUnknown {
		t.Errorf("kind %s for a %d-octet identity", id.Kind, len(long))
	}
}

// FuzzParseIdentity: never panics, and what it returns points into the input
// and agrees with it.
func FuzzParseIdentity(f *testing.F) {
	for _, s := range []string{"6001010000000001@wlan.mnc001.mcc001.3gppnetwork.org", "anonymous@x", "7pseudo@r", "8@", "@@", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id := ParseIdentity(b)
		if id.Kind == IdentityUnknown {
			return
		}
		if !bytes.Contains(b, id.Value) || (len(id.Realm) > 0 && !bytes.HasSuffix(b, id.Realm)) {
			t.Fatalf("value %q realm %q not from %q", id.Value, id.Realm, b)
		}
		if id.Kind == IdentityPermanent && !isIMSI(id.Value) {
			t.Fatalf("permanent identity with IMSI %q", id.Value)
		}
	})
}
