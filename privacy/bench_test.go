package privacy

import "testing"

// BenchmarkDecrypt is one RSA-2048 OAEP decryption picked by key identifier:
// the cost of every encrypted identity the server sees.
func BenchmarkDecrypt(b *testing.B) {
	ks := testKeys()
	d := mustDecrypter(b, mustKey(b, "4660", ks.A), mustKey(b, "4661", ks.B))
	id := mustEncrypt(b, &ks.A.PublicKey, "6"+imsi+"@"+realm3gpp, "", "4660")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decrypt(id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecryptNoKeyIDTwoKeys is the worst case an attacker can ask for
// without a default key: no identifier, so every key is tried and fails.
func BenchmarkDecryptNoKeyIDTwoKeys(b *testing.B) {
	ks := testKeys()
	d := mustDecrypter(b, mustKey(b, "4660", ks.A), mustKey(b, "4661", ks.B))
	id := mustEncrypt(b, &ks.Other.PublicKey, "6"+imsi, "", "")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := d.Decrypt(id); err == nil {
			b.Fatal("decrypted")
		}
	}
}
