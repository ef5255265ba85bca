package main

import (
	"strings"
	"testing"
)

// fuzzCanary stands for a secret typed somewhere in a configuration: whatever
// the mistake, no error may print it.
const fuzzCanary = "Zq7canaryValueXk"

// FuzzLoadConfig: any input is loaded or refused without a panic, and a
// value that is not a plain YAML key word never reaches the error. The
// fuzzer puts the fuzzCanary where it likes; seeds put it in every kind of
// place.
func FuzzLoadConfig(f *testing.F) {
	for _, seed := range []string{
		minimal,
		"radius: {clients: [{name: lab, address: 127.0.0.0/8, " + fuzzCanary + "}]}\n",
		minimal + "eap: {max_conversations: " + fuzzCanary + "}\n",
		minimal + "log: {level: " + fuzzCanary + "}\n",
		strings.Replace(minimal, "127.0.0.0/8", fuzzCanary, 1),
		minimal + "eap: {methods: [aka, " + fuzzCanary + "]}\n",
		minimal + "hss: {subscribers: x.csv, backend: " + fuzzCanary + "}\n",
		minimal + fuzzCanary + ": 1\n",
		"radius: [" + fuzzCanary,
		"a: &x {b: 1}\nc: *x\n",
		"---\nlog: {}\n---\n" + fuzzCanary + "\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data string) {
		_, err := loadConfig([]byte(data))
		if err == nil {
			return
		}
		msg := err.Error()
		if strings.Contains(data, fuzzCanary) && strings.Contains(msg, fuzzCanary) {
			t.Fatalf("error echoes a value:\n%s\n--- config:\n%s", msg, data)
		}
	})
}
