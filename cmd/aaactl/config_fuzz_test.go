package main

import (
	"strings"
	"testing"
)

// The configuration aaactl reads may hold secrets (a Redis password, keys
// pasted where a variable's name belongs): whatever it holds, parsing
// must not panic, and no error may quote the secret planted in it.
func FuzzParseCtlConfig(f *testing.F) {
	const secret = "S3cr3tP4ssw0rdXYZ"
	f.Add([]byte("store: {backend: redis, redis: {addrs: [\"127.0.0.1:6379\"], password: " + secret + "}}\nhss: {key_file: /etc/kek}\n"))
	f.Add([]byte("hss: {key_env: " + secret + "}\nstore: {backend: redis, redis: {addrs: [x]}}\n"))
	f.Add([]byte("store: {backend: " + secret + "}\n"))
	f.Add([]byte("hss: [" + secret + "\n"))
	f.Add([]byte("radius: {clients: []}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, err := parseCtlConfig(data)
		if err != nil && strings.Contains(err.Error(), secret) {
			t.Fatalf("the error quotes the secret: %v", err)
		}
	})
}
