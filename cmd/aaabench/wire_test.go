package main

import (
	"bytes"
	"crypto/hmac"
	"crypto/md5"
	"testing"

	"layeh.com/radius"
	"layeh.com/radius/rfc2865"
	"layeh.com/radius/rfc2869"
	"layeh.com/radius/vendors/microsoft"
)

const testSecret = "testing123"

func TestAccessRequest_ParsesAndAuthenticates(t *testing.T) {
	long := make([]byte, 600) // an EAP message longer than one attribute
	for i := range long {
		long[i] = byte(i)
	}
	auth := [16]byte{1, 2, 3}
	b, err := appendAccessRequest(nil, &auth, []byte("6001010000000001@realm"), long, []byte("state-0123456789"))
	if err != nil {
		t.Fatal(err)
	}
	signRequest(b, 77, newHasher([]byte(testSecret)))
	p, err := radius.Parse(b, []byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if p.Code != radius.CodeAccessRequest || p.Identifier != 77 || p.Authenticator != auth {
		t.Fatalf("code %v id %d", p.Code, p.Identifier)
	}
	if got := rfc2865.UserName_GetString(p); got != "6001010000000001@realm" {
		t.Fatalf("User-Name %q", got)
	}
	if got := rfc2865.State_Get(p); string(got) != "state-0123456789" {
		t.Fatalf("State %q", got)
	}
	var frags []int
	for _, a := range p.Attributes {
		if a.Type == rfc2869.EAPMessage_Type {
			frags = append(frags, len(a.Attribute))
		}
	}
	if len(frags) != 3 || frags[0] != 253 || frags[1] != 253 || frags[2] != 94 {
		t.Fatalf("EAP-Message fragments %v", frags)
	}
	if got, _ := rfc2869.EAPMessage_Lookup(p); !bytes.Equal(got, long) {
		t.Fatal("EAP-Message does not reassemble")
	}
	// Message-Authenticator first, and valid as the server checks it
	// (RFC 3579 3.2: HMAC-MD5 over the packet, its value zeroed).
	if b[20] != attrMessageAuthenticator || b[21] != 18 {
		t.Fatal("Message-Authenticator is not the first attribute")
	}
	c := append([]byte(nil), b...)
	clear(c[22:38])
	mac := hmac.New(md5.New, []byte(testSecret))
	mac.Write(c)
	if !hmac.Equal(mac.Sum(nil), b[22:38]) {
		t.Fatal("Message-Authenticator does not verify")
	}
}

// encodeLikeAAAD encodes p as aaad does (radius/wire.go): Message-
// Authenticator first, computed over the packet with the request
// authenticator, then the Response Authenticator.
func encodeLikeAAAD(t testing.TB, p *radius.Packet) []byte {
	b, err := p.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	resign(b, p.Authenticator[:], p.Secret)
	return b
}

// resign recomputes the Message-Authenticator (when first) and the
// Response Authenticator of an answer, for tests that tamper with one.
func resign(b, reqAuth, secret []byte) {
	copy(b[4:20], reqAuth)
	if b[20] == attrMessageAuthenticator {
		clear(b[22:38])
		mac := hmac.New(md5.New, secret)
		mac.Write(b)
		mac.Sum(b[22:22])
	}
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}

func acceptFor(t testing.TB, reqAuth [16]byte, msk *[64]byte) []byte {
	p := &radius.Packet{Code: radius.CodeAccessAccept, Identifier: 9, Authenticator: reqAuth, Secret: []byte(testSecret)}
	p.Add(attrMessageAuthenticator, make([]byte, 16))
	rfc2869.EAPMessage_Set(p, []byte{3, 5, 0, 4})
	if err := microsoft.MSMPPERecvKey_Add(p, msk[:32]); err != nil {
		t.Fatal(err)
	}
	if err := microsoft.MSMPPESendKey_Add(p, msk[32:]); err != nil {
		t.Fatal(err)
	}
	rfc2865.UserName_SetString(p, "user")
	return encodeLikeAAAD(t, p)
}

func TestAnswerChecks(t *testing.T) {
	reqAuth := [16]byte{9, 8, 7, 6, 5}
	var msk [64]byte
	for i := range msk {
		msk[i] = byte(3 * i)
	}
	good := acceptFor(t, reqAuth, &msk)
	secret := []byte(testSecret)
	hs := newHasher(secret)
	check := func(b []byte, k *[64]byte) reason {
		if !responseAuthenticatorOK(hs, b, reqAuth[:], secret) {
			return reasonBadResponseAuthenticator
		}
		var a answer
		if err := parseAnswer(b, nil, nil, &a); err != nil {
			return reasonMalformed
		}
		if a.maCount != 1 || !messageAuthenticatorOK(hs, b, a.maOff, reqAuth[:]) {
			return reasonBadMessageAuthenticator
		}
		if a.code != codeAccessAccept || !bytes.Equal(a.eap, []byte{3, 5, 0, 4}) {
			return reasonUnexpected
		}
		var m mppeScratch
		if !mppeKeysMatch(a.vsas, reqAuth[:], secret, k, &m) {
			return reasonMPPEMismatch
		}
		return reasonNone
	}
	if r := check(good, &msk); r != reasonNone {
		t.Fatalf("a good Accept: %s", r)
	}
	other := msk
	other[40] ^= 1
	if r := check(good, &other); r != reasonMPPEMismatch {
		t.Fatalf("another MSK: %s", r)
	}
	bad := append([]byte(nil), good...)
	bad[len(bad)-1] ^= 1
	if r := check(bad, &msk); r != reasonBadResponseAuthenticator {
		t.Fatalf("a changed octet: %s", r)
	}
	bad = append([]byte(nil), good...)
	bad[30] ^= 1 // in the Message-Authenticator value, then re-signed
	resignResponseOnly(bad, reqAuth[:], secret)
	if r := check(bad, &msk); r != reasonBadMessageAuthenticator {
		t.Fatalf("a wrong Message-Authenticator: %s", r)
	}
	if r := check(good, &msk); r != reasonNone {
		t.Fatal("the checks changed the packet")
	}
	var a answer
	if err := parseAnswer(append(append([]byte(nil), good...), 26, 1), nil, nil, &a); err == nil {
		t.Fatal("a bad attribute length parsed")
	}
}

// resignResponseOnly recomputes only the Response Authenticator.
func resignResponseOnly(b, reqAuth, secret []byte) {
	copy(b[4:20], reqAuth)
	h := md5.New()
	h.Write(b)
	h.Write(secret)
	h.Sum(b[4:4])
}

func TestRequestBuildingDoesNotAllocate(t *testing.T) {
	auth := [16]byte{1}
	buf := make([]byte, 0, maxRadiusLen)
	eapMsg := make([]byte, 120)
	user, state, secret := []byte("user@realm"), []byte("0123456789abcdef"), []byte(testSecret)
	hs := newHasher(secret)
	a := testing.AllocsPerRun(100, func() {
		b, _ := appendAccessRequest(buf, &auth, user, eapMsg, state)
		signRequest(b, 1, hs)
		responseAuthenticatorOK(hs, b, auth[:], secret)
		messageAuthenticatorOK(hs, b, maOffset, auth[:])
	})
	if a != 0 {
		t.Fatalf("%.0f allocations per request", a)
	}
}
