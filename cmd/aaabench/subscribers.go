package main

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
)

// subscribersMain is `aaabench subscribers`: it writes a subscribers CSV in
// the HSS format (imsi,k,opc,amf,sqn) with random K and OPc, AMF 8000 and
// SQN 0, for aaad and aaabench to share.
func subscribersMain(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("aaabench subscribers", flag.ContinueOnError)
	fs.SetOutput(stderr)
	count := fs.Int("count", 0, "number of subscribers (required)")
	base := fs.String("imsi-base", "001010000000000", "first IMSI; the others follow it")
	out := fs.String("out", "", "output file (default: standard output)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: aaabench subscribers --count N [--imsi-base IMSI] [--out FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "aaabench subscribers: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *count <= 0 {
		fmt.Fprintln(stderr, "aaabench subscribers: --count must be positive")
		return 2
	}
	w := stdout
	var f *os.File
	if *out != "" {
		var err error
		f, err = os.OpenFile(*out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600) // it holds keys
		if err != nil {
			fmt.Fprintln(stderr, "aaabench subscribers:", err)
			return 2
		}
		w = f
	}
	err := writeSubscribers(w, *base, *count)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		fmt.Fprintln(stderr, "aaabench subscribers:", err)
		return 2
	}
	return 0
}

// writeSubscribers writes the header and count rows with IMSIs base,
// base+1, ... (same number of digits as base).
func writeSubscribers(w io.Writer, base string, count int) error {
	if len(base) < 6 || len(base) > 15 {
		return errors.New("--imsi-base: want 6 to 15 digits")
	}
	first, err := strconv.ParseUint(base, 10, 64)
	if err != nil {
		return errors.New("--imsi-base: want 6 to 15 digits")
	}
	limit := uint64(1)
	for range len(base) {
		limit *= 10
	}
	if first+uint64(count) > limit {
		return fmt.Errorf("--imsi-base: %d subscribers do not fit in %d digits", count, len(base))
	}
	bw := bufio.NewWriter(w)
	bw.WriteString("imsi,k,opc,amf,sqn\n")
	var key [32]byte // K and OPc
	line := make([]byte, 0, 128)
	for i := range uint64(count) {
		rand.Read(key[:]) // never fails (crypto/rand, Go 1.24+)
		line = line[:0]
		imsi := strconv.AppendUint(nil, first+i, 10)
		for range len(base) - len(imsi) {
			line = append(line, '0')
		}
		line = append(line, imsi...)
		line = append(line, ',')
		line = hex.AppendEncode(line, key[:16])
		line = append(line, ',')
		line = hex.AppendEncode(line, key[16:])
		line = append(line, ",8000,000000000000\n"...)
		if _, err := bw.Write(line); err != nil {
			return err
		}
	}
	clear(key[:])
	return bw.Flush()
}
