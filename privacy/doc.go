// Package privacy decrypts permanent identities that phones send encrypted
// under the carrier's RSA public key ("IMSI privacy protection for Wi-Fi").
//
// The phone sends, in EAP-Response/Identity or AT_IDENTITY,
//
//	0x00 || base64(RSA-OAEP(SHA-256, MGF1-SHA-256, label "", permanent identity))
//	     [|| "@" realm] [|| "," name "=" value]
//
// and derives its EAP-AKA/AKA' keys from the permanent identity it encrypted,
// not from the string it sent. [Decrypter.Decrypt] returns that permanent
// identity, which the server must then use both to fetch the vector and in
// the MK derivation (RFC 4187 7, RFC 9048 3.3). docs/identity-privacy.md gives
// the accepted formats byte by byte and the sources they come from.
//
// Nothing here logs, and no error carries ciphertext, plaintext or key
// material.
package privacy
