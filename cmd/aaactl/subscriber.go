package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/hss"
	"github.com/aaa-project/aaa/milenage"
	"github.com/aaa-project/aaa/store/redisstore"
)

const subscriberUsage = `usage: aaactl [--config FILE] subscriber COMMAND [flags]

Every command but provision --no-store works on the store of --config
(store.backend: redis), sealing and opening keys with the keys of
hss.key_file or hss.key_env. K and OPc are never printed, except by
export --with-keys. --config may also follow COMMAND.

  add --imsi IMSI --k HEX (--opc HEX | --op HEX) [--amf HEX] [--sqn HEX] [--update]
      store one subscriber (AMF 8000 and SQN 000000000000 unless given).
      Refused for an IMSI already stored, unless --update: that replaces
      its keys and AMF and never lowers its SQN. K and OP/OPc on a command
      line are visible to the host's other users and kept in shell
      history: prefer import or provision.
  import [--update] FILE.csv
      store every row of a subscribers CSV (header imsi,k,opc,amf,sqn, or
      op for opc: what hss.subscribers reads; - reads stdin). Every row is
      checked first and every bad row named by its line; then nothing is
      written. Once the file is good, an IMSI already stored is a bad row
      too, unless --update (as for add).
  export [--with-keys] [--out FILE]
      print every subscriber as CSV, sorted by IMSI: imsi,amf,sqn. With
      --with-keys imsi,k,opc,amf,sqn, which import and hss.subscribers
      read: every subscriber's K and OPc in the clear, so the output is as
      secret as the keys themselves. --out writes a new file (mode 0600,
      never overwriting one).
  show IMSI
      print one subscriber: AMF, SQN (SEQ and IND), the id of the key that
      sealed it and whether the configured keys open it; never K or OPc.
  delete IMSI...
      delete subscribers, with their pseudonyms and re-authentication
      contexts (a context left behind would let the device on again).
  list
      print every stored IMSI, one a line, sorted (SCAN, on every Cluster
      master: fine on a large store).
  provision --count N --imsi-start IMSI --out FILE [--format csv|json] [--amf HEX] [--no-store]
      make N new subscribers, IMSIs from IMSI on, with fresh random K and
      OPc: write them to FILE for the SIMs (a new file, mode 0600; csv as
      import reads, or json [{"imsi","k","opc","amf","sqn"}]), then store
      them sealed. Refused whole if any of the IMSIs is stored already.
      The file is written first, so that the store never holds keys no
      file has. --no-store only writes FILE and needs no --config (keys
      for the memory store's hss.subscribers).
  rewrap
      seal every subscriber's keys again under the first key of the key
      file. To rotate: add the new key last on every aaad node and restart
      them, move it first and restart them again, rewrap, wait for the
      re-authentication contexts to expire, then drop the old key
      (docs/operations.md, "Rotation"). A record that does not open is
      named, and its key must stay.
`

// Defaults of add and provision: the AMF separation bit set (for EAP-AKA'
// the HSS sets it anyway), and no SQN issued yet.
const (
	defaultAMF = "8000"
	defaultSQN = "000000000000"
)

// maxProvision bounds one provision run: its keys are all in memory, and
// a typo in --count should not make a million SIMs.
const maxProvision = 100_000

// usageError is an error of the command line (exit 2, not 1).
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// onlyTaken reports whether err is Create's for IMSIs another writer
// stored meanwhile, and nothing else (no failure of the store).
func onlyTaken(err error) bool {
	var joined interface{ Unwrap() []error }
	if !errors.As(err, &joined) {
		return errors.Is(err, redisstore.ErrSubscriberExists)
	}
	for _, e := range joined.Unwrap() {
		if !errors.Is(e, redisstore.ErrSubscriberExists) {
			return false
		}
	}
	return true
}

// shownArg quotes a command-line argument for an error message, unless it
// could be a secret: a key typed where it does not belong (a value taken
// for the previous flag's, a missing flag before it) must not reach a
// terminal or a log. Flag-like words and IMSIs are shown.
func shownArg(a string) string {
	if safeArg(a) {
		return strconv.Quote(a)
	}
	return "(not shown: it may be a key)"
}

func safeArg(a string) bool {
	if len(a) == 0 || len(a) > 24 {
		return false
	}
	digits := true
	for _, r := range a {
		switch {
		case r >= '0' && r <= '9':
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-', r == '_', r == '.', r == '/':
			digits = false
		default:
			return false
		}
	}
	// A run of hex digits long enough to be part of a key is hidden;
	// an IMSI (15 digits at most) is not a key.
	return digits && len(a) <= 15 || !digits && !isHexRun(strings.TrimLeft(a, "-"))
}

func isHexRun(a string) bool {
	if len(a) < 8 {
		return false
	}
	for _, r := range a {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// maskArgs takes out of a flag package error every argument that could be
// a secret ("flag provided but not defined: -00112233...", "invalid value
// ... for flag").
func maskArgs(err error, args []string) error {
	msg := err.Error()
	for _, a := range args {
		for _, v := range []string{a, strings.TrimLeft(a, "-")} {
			if v != "" && !safeArg(v) && strings.Contains(msg, v) {
				msg = strings.ReplaceAll(msg, v, "(not shown)")
			}
			if _, val, ok := strings.Cut(v, "="); ok && val != "" && !safeArg(val) {
				msg = strings.ReplaceAll(msg, val, "(not shown)")
			}
		}
	}
	return errors.New(msg)
}

// subCmd is one run of a subscriber command.
type subCmd struct {
	ctx            context.Context
	configPath     string
	stdout, stderr io.Writer

	cfg   *ctlConfig
	store *redisstore.SubscriberStore
	close func() error
}

func subscriber(ctx context.Context, configPath string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, subscriberUsage)
		return exitUsage
	}
	cmds := map[string]func(*subCmd, []string) error{
		"add":       (*subCmd).add,
		"import":    (*subCmd).importCSV,
		"export":    (*subCmd).export,
		"show":      (*subCmd).show,
		"delete":    (*subCmd).delete,
		"list":      (*subCmd).list,
		"provision": (*subCmd).provision,
		"rewrap":    (*subCmd).rewrap,
	}
	name := args[0]
	fn, ok := cmds[name]
	switch {
	case name == "help" || name == "-h" || name == "--help":
		fmt.Fprint(stdout, subscriberUsage)
		return 0
	case !ok:
		fmt.Fprintf(stderr, "aaactl subscriber: unknown command %q\n%s", name, subscriberUsage)
		return exitUsage
	}
	c := &subCmd{ctx: ctx, configPath: configPath, stdout: stdout, stderr: stderr}
	err := fn(c, args[1:])
	if c.close != nil {
		c.close()
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	// One line each, all prefixed: a bad import names many rows.
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(stderr, "aaactl subscriber %s: %s\n", name, line)
	}
	var ue usageError
	if errors.As(err, &ue) {
		fmt.Fprintln(stderr, "('aaactl subscriber help' lists every command and flag)")
		return exitUsage
	}
	return exitFailed
}

// flags is a command's flag set, with --config (which may also come
// after the command).
func (c *subCmd) flags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("subscriber "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed once, by subscriber
	fs.StringVar(&c.configPath, "config", c.configPath, "aaad's configuration file (its hss and store sections)")
	return fs
}

// parse parses flags wherever they are among the arguments (import
// FILE --update as well as import --update FILE) and returns the others.
func (c *subCmd) parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(c.stdout, subscriberUsage)
				return nil, err
			}
			return nil, usageError{maskArgs(err, args)}
		}
		if fs.NArg() == 0 {
			return pos, nil
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// parseNoArgs is parse for a command that takes flags only.
func (c *subCmd) parseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %s", shownArg(pos[0]))
	}
	return nil
}

// open loads the configuration and connects to the store: store.backend
// redis only.
func (c *subCmd) open() error {
	if c.configPath == "" {
		return usagef("--config FILE is required: aaad's configuration, or a file with its hss and store sections")
	}
	cfg, err := loadCtlConfig(c.configPath)
	if err != nil {
		return err
	}
	if cfg.Store.Backend != "redis" {
		return errMemoryStore
	}
	c.cfg = cfg
	rdb := redisstore.NewClient(cfg.redisConfig())
	c.close = rdb.Close
	c.store = redisstore.NewSubscriberStore(rdb, cfg.Store.Redis.Prefix)
	return nil
}

func (c *subCmd) indBits() uint { return *c.cfg.HSS.INDBits }

// sealer is the sealer under the configured key-encryption keys.
func (c *subCmd) sealer() (*hss.Sealer, error) {
	s, err := c.cfg.HSS.Sealer("hss")
	if err == nil && s == nil {
		err = errors.New("hss.key_file or hss.key_env: required: the subscriber keys are sealed under them")
	}
	return s, err
}

func checkIMSI(flagName, imsi string) error {
	if !hss.ValidIMSI(imsi) {
		return usagef("%s: want an IMSI of 6 to 15 digits", flagName)
	}
	return nil
}

func (c *subCmd) add(args []string) error {
	fs := c.flags("add")
	imsi := fs.String("imsi", "", "the subscriber's IMSI")
	kHex := fs.String("k", "", "K (32 hex digits)")
	opcHex := fs.String("opc", "", "OPc (32 hex digits)")
	opHex := fs.String("op", "", "OP (32 hex digits), instead of --opc")
	amfHex := fs.String("amf", defaultAMF, "AMF (4 hex digits)")
	sqnHex := fs.String("sqn", defaultSQN, "the last SQN issued (12 hex digits)")
	update := fs.Bool("update", false, "replace the keys and AMF of a stored subscriber (never lowering its SQN)")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := checkIMSI("--imsi", *imsi); err != nil {
		return err
	}
	var (
		sub hss.Subscriber
		amf [aka.AMFLen]byte
		sqn [aka.SQNLen]byte
	)
	defer clear(sub.K[:])
	defer clear(sub.OPc[:])
	sub.IMSI = *imsi
	if err := decodeHex("k", *kHex, sub.K[:]); err != nil {
		return usageError{err}
	}
	switch {
	case *opcHex != "" && *opHex != "":
		return usagef("give --opc or --op, not both")
	case *opcHex != "":
		if err := decodeHex("opc", *opcHex, sub.OPc[:]); err != nil {
			return usageError{err}
		}
	case *opHex != "":
		var op milenage.OP
		defer clear(op[:])
		if err := decodeHex("op", *opHex, op[:]); err != nil {
			return usageError{err}
		}
		sub.OPc = milenage.ComputeOPc(sub.K, op)
	default:
		return usagef("--opc or --op is required")
	}
	if err := decodeHex("amf", *amfHex, amf[:]); err != nil {
		return usageError{err}
	}
	if err := decodeHex("sqn", *sqnHex, sqn[:]); err != nil {
		return usageError{err}
	}
	sub.AMF = uint16(amf[0])<<8 | uint16(amf[1])
	sub.SQN = aka.SQNFromBytes(sqn)
	if err := c.open(); err != nil {
		return err
	}
	sealer, err := c.sealer()
	if err != nil {
		return err
	}
	es := []redisstore.Entry{entryOf(sealer, &sub)}
	if *update {
		if _, err := c.store.PutMany(c.ctx, es, c.indBits()); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "stored %s\n", sub.IMSI)
		return nil
	}
	if _, err := c.store.Create(c.ctx, es, c.indBits()); err != nil {
		if errors.Is(err, redisstore.ErrSubscriberExists) {
			return fmt.Errorf("%s is stored already: --update replaces its keys and AMF (its SQN is never lowered)", sub.IMSI)
		}
		return err
	}
	fmt.Fprintf(c.stdout, "added %s\n", sub.IMSI)
	return nil
}

// entryOf seals a subscriber's keys for the store.
func entryOf(sealer *hss.Sealer, s *hss.Subscriber) redisstore.Entry {
	return redisstore.Entry{IMSI: s.IMSI, SQN: s.SQN,
		Record: hss.Record{Sealed: sealer.Seal(s.IMSI, &s.K, &s.OPc), AMF: s.AMF}}
}

func (c *subCmd) importCSV(args []string) error {
	fs := c.flags("import")
	update := fs.Bool("update", false, "replace the keys and AMF of stored subscribers (never lowering an SQN)")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one file: import [--update] FILE.csv")
	}
	name := pos[0]
	// The configuration first: a wrong one fails at once, before the
	// file is read.
	if err := c.open(); err != nil {
		return err
	}
	sealer, err := c.sealer()
	if err != nil {
		return err
	}
	var r io.Reader = os.Stdin
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	rows, err := hss.ReadSubscriberRows(r)
	if err != nil {
		var bad hss.RowErrors
		if errors.As(err, &bad) {
			return badRows(name, bad)
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	defer func() {
		for i := range rows {
			rows[i].Wipe()
		}
	}()
	if len(rows) == 0 {
		return fmt.Errorf("%s: no subscriber in the file", name)
	}
	imsis := make([]string, len(rows))
	for i := range rows {
		imsis[i] = rows[i].IMSI
	}
	if !*update {
		stored, err := c.store.Existing(c.ctx, imsis)
		if err != nil {
			return err
		}
		if len(stored) > 0 {
			there := map[string]bool{}
			for _, imsi := range stored {
				there[imsi] = true
			}
			var bad hss.RowErrors
			for i := range rows {
				if there[rows[i].IMSI] {
					bad = append(bad, hss.RowError{Line: rows[i].Line,
						Err: errors.New("IMSI stored already (--update replaces its keys and AMF; its SQN is never lowered)")})
				}
			}
			return badRows(name, bad)
		}
	}
	es := make([]redisstore.Entry, len(rows))
	for i := range rows {
		es[i] = entryOf(sealer, &rows[i].Subscriber)
	}
	write := c.store.Create
	if *update {
		write = c.store.PutMany
	}
	stored, err := write(c.ctx, es, c.indBits())
	if err != nil {
		if !*update && onlyTaken(err) {
			// Another writer stored some of these IMSIs since the
			// check: --update would overwrite its keys.
			return fmt.Errorf("%s: %d of %d subscribers stored (%s); the others were stored by another writer meanwhile and keep their keys: take them out of the file, or check which keys are right before any --update:\n%w",
				name, len(stored), len(es), imsiRanges(stored), err)
		}
		return fmt.Errorf("%s: %d of %d subscribers stored (%s) when the store failed; importing the file again with --update finishes it (same keys, no SQN lowered):\n%w",
			name, len(stored), len(es), imsiRanges(stored), err)
	}
	fmt.Fprintf(c.stdout, "imported %d subscribers from %s\n", len(stored), name)
	return nil
}

// badRows is the error for a file with bad rows: each on a line of its
// own, then what happened.
func badRows(name string, bad hss.RowErrors) error {
	var b strings.Builder
	for _, r := range bad {
		fmt.Fprintf(&b, "%s: %v\n", name, r)
	}
	s := "s"
	if len(bad) == 1 {
		s = ""
	}
	fmt.Fprintf(&b, "%s: %d bad row%s; nothing written", name, len(bad), s)
	return errors.New(b.String())
}

// allIMSIs is every stored IMSI, sorted, each once (SCAN may repeat one).
func (c *subCmd) allIMSIs() ([]string, error) {
	var imsis []string
	err := c.store.ScanIMSIs(c.ctx, func(batch []string) error {
		imsis = append(imsis, batch...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Same-length IMSIs sort as numbers; a shorter one before a longer.
	slices.SortFunc(imsis, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(imsis), nil
}

func (c *subCmd) list(args []string) error {
	fs := c.flags("list")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	imsis, err := c.allIMSIs()
	if err != nil {
		return err
	}
	w := bufio.NewWriter(c.stdout)
	for _, imsi := range imsis {
		w.WriteString(imsi)
		w.WriteByte('\n')
	}
	return w.Flush()
}

func (c *subCmd) show(args []string) error {
	fs := c.flags("show")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usagef("want one IMSI: show IMSI")
	}
	if err := checkIMSI("IMSI", pos[0]); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	sealer, err := c.sealer()
	if err != nil {
		return err
	}
	e, err := c.store.Get(c.ctx, pos[0], c.indBits())
	if errors.Is(err, aka.ErrUnknownSubscriber) {
		return fmt.Errorf("%s: not stored", pos[0])
	}
	if err != nil {
		return err
	}
	keyID, err := hss.KeyID(e.Record.Sealed)
	if err != nil {
		keyID = "(record malformed)"
	} else if strings.ContainsFunc(keyID, func(r rune) bool { return r <= ' ' || r > '~' }) {
		keyID = strconv.Quote(keyID) // from the store: no terminal escapes
	}
	// Opened only to say whether it opens; the keys are wiped at once.
	opens := "yes"
	if k, opc, err := sealer.Open(e.IMSI, e.Record.Sealed); err != nil {
		opens = "no: " + err.Error()
	} else {
		clear(k[:])
		clear(opc[:])
	}
	sqn := e.SQN.Bytes()
	bits := c.indBits()
	fmt.Fprintf(c.stdout, "imsi    %s\namf     %04x\nsqn     %x (SEQ %d, IND %d of %d bits)\nkey_id  %s\nopens   %s\n",
		e.IMSI, e.Record.AMF, sqn[:], e.SQN.SEQ(bits), e.SQN.IND(bits), bits, keyID, opens)
	return nil
}

func (c *subCmd) delete(args []string) error {
	fs := c.flags("delete")
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usagef("want an IMSI: delete IMSI...")
	}
	for _, imsi := range pos {
		if err := checkIMSI("IMSI", imsi); err != nil {
			return err
		}
	}
	if err := c.open(); err != nil {
		return err
	}
	var unknown []string
	for _, imsi := range pos {
		err := c.store.Delete(c.ctx, imsi)
		switch {
		case errors.Is(err, aka.ErrUnknownSubscriber):
			unknown = append(unknown, imsi)
		case err != nil:
			return err
		default:
			fmt.Fprintf(c.stdout, "deleted %s\n", imsi)
		}
	}
	if len(unknown) > 0 {
		return fmt.Errorf("not stored: %s", strings.Join(unknown, ", "))
	}
	return nil
}

func (c *subCmd) export(args []string) error {
	fs := c.flags("export")
	withKeys := fs.Bool("with-keys", false, "include K and OPc in the clear (the output is then secret)")
	out := fs.String("out", "", "write to this new file (mode 0600) instead of stdout")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	var sealer *hss.Sealer
	if *withKeys {
		var err error
		if sealer, err = c.sealer(); err != nil {
			return err
		}
	}
	// The file first: one that exists is refused before any work.
	dst, done, err := c.output(*out)
	if err != nil {
		return err
	}
	n, err := c.exportAll(dst, sealer)
	if err = done(err); err != nil {
		return err
	}
	if *out != "" {
		fmt.Fprintf(c.stdout, "exported %d subscribers to %s\n", n, *out)
	}
	return nil
}

// output is where a command writes: stdout, or a new secret file. done
// finishes it: it closes the file, or removes it when the command failed.
func (c *subCmd) output(name string) (w io.Writer, done func(error) error, err error) {
	if name == "" {
		return c.stdout, func(err error) error { return err }, nil
	}
	f, err := createSecret(name)
	if err != nil {
		return nil, nil, err
	}
	return f, func(err error) error { return finishSecret(f, err) }, nil
}

// createSecret creates a file for keys: a new one (O_EXCL: an existing
// file is never overwritten, nor one an attacker planted as a link), that
// only its owner can read.
func createSecret(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return nil, usagef("--out %s: the file exists; it is never overwritten", name)
	}
	return f, err
}

// finishSecret syncs and closes a file createSecret made; after a failure
// (err, or its own) it removes it: a partial file of keys helps nobody.
func finishSecret(f *os.File, err error) error {
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// exportAll writes the CSV of export: the columns hss.ReadSubscribersCSV
// reads, without k and opc unless sealer is given to open them.
func (c *subCmd) exportAll(dst io.Writer, sealer *hss.Sealer) (int, error) {
	imsis, err := c.allIMSIs()
	if err != nil {
		return 0, err
	}
	w := bufio.NewWriter(dst)
	if sealer != nil {
		w.WriteString("imsi,k,opc,amf,sqn\n")
	} else {
		w.WriteString("imsi,amf,sqn\n")
	}
	n := 0
	var line []byte
	defer func() { clear(line) }()
	for part := range slices.Chunk(imsis, 1024) {
		es, err := c.store.GetMany(c.ctx, part, c.indBits())
		if err != nil {
			return n, err
		}
		for _, e := range es {
			line = append(line[:0], e.IMSI...)
			if sealer != nil {
				k, opc, err := sealer.Open(e.IMSI, e.Record.Sealed)
				if err != nil {
					return n, fmt.Errorf("%s: %w; export stopped", e.IMSI, err)
				}
				line = appendHexField(line, k[:])
				line = appendHexField(line, opc[:])
				clear(k[:])
				clear(opc[:])
			}
			sqn := e.SQN.Bytes()
			line = appendHexField(line, []byte{byte(e.Record.AMF >> 8), byte(e.Record.AMF)})
			line = appendHexField(line, sqn[:])
			line = append(line, '\n')
			if _, err := w.Write(line); err != nil {
				return n, err
			}
			n++
		}
	}
	return n, w.Flush()
}

func appendHexField(dst, b []byte) []byte {
	dst = append(dst, ',')
	return hex.AppendEncode(dst, b)
}

func (c *subCmd) provision(args []string) error {
	fs := c.flags("provision")
	count := fs.Int("count", 0, "how many subscribers")
	start := fs.String("imsi-start", "", "the first IMSI; the others follow it")
	out := fs.String("out", "", "the file for the SIM side (new, mode 0600)")
	format := fs.String("format", "csv", "csv (imsi,k,opc,amf,sqn) or json")
	amfHex := fs.String("amf", defaultAMF, "AMF (4 hex digits)")
	noStore := fs.Bool("no-store", false, "only write the file (no --config needed)")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	imsis, err := imsiRange(*start, *count)
	if err != nil {
		return err
	}
	if *out == "" {
		return usagef("--out FILE is required")
	}
	if *format != "csv" && *format != "json" {
		return usagef("--format: want csv or json")
	}
	var amf [aka.AMFLen]byte
	if err := decodeHex("amf", *amfHex, amf[:]); err != nil {
		return usageError{err}
	}
	var sealer *hss.Sealer
	if !*noStore {
		if err := c.open(); err != nil {
			return err
		}
		if sealer, err = c.sealer(); err != nil {
			return err
		}
		stored, err := c.store.Existing(c.ctx, imsis)
		if err != nil {
			return err
		}
		if len(stored) > 0 {
			return fmt.Errorf("%d of the IMSIs are stored already (%s); nothing written", len(stored), imsiRanges(stored))
		}
	}
	subs := make([]hss.Subscriber, len(imsis))
	defer func() {
		for i := range subs {
			clear(subs[i].K[:])
			clear(subs[i].OPc[:])
		}
	}()
	for i := range subs {
		subs[i].IMSI = imsis[i]
		subs[i].AMF = uint16(amf[0])<<8 | uint16(amf[1])
		rand.Read(subs[i].K[:]) // crypto/rand: never fails (Go 1.24+)
		rand.Read(subs[i].OPc[:])
	}
	// The file first: if it cannot be written, nothing is stored; if the
	// store then fails, every key stored is in the file.
	f, err := createSecret(*out)
	if err != nil {
		return err
	}
	if err := finishSecret(f, writeProvision(f, subs, *format)); err != nil {
		return fmt.Errorf("--out %s: %w; nothing stored", *out, err)
	}
	first, last := imsis[0], imsis[len(imsis)-1]
	if *noStore {
		fmt.Fprintf(c.stdout, "wrote %d subscribers (%s to %s) to %s; none stored (--no-store)\n", len(subs), first, last, *out)
		return nil
	}
	es := make([]redisstore.Entry, len(subs))
	for i := range subs {
		es[i] = entryOf(sealer, &subs[i])
	}
	stored, err := c.store.Create(c.ctx, es, c.indBits())
	if err != nil {
		finish := "aaactl subscriber import --update " + *out + " stores the rest"
		if onlyTaken(err) {
			finish = "the others were stored by another writer meanwhile and keep their keys: those devices must not get the file's"
		} else if *format == "json" {
			finish = "delete the stored ones (aaactl subscriber delete) and provision again, or add the rest"
		}
		return fmt.Errorf("%s holds all %d subscribers, but the store only %d of them (%s): %s:\n%w",
			*out, len(es), len(stored), imsiRanges(stored), finish, err)
	}
	fmt.Fprintf(c.stdout, "provisioned %d subscribers (%s to %s): stored sealed, K and OPc in %s (mode 0600) for the SIM side\n",
		len(subs), first, last, *out)
	return nil
}

// imsiRange is count IMSIs from start on, all of start's length (its
// leading zeros kept): a range that would need another digit is refused,
// not wrapped.
func imsiRange(start string, count int) ([]string, error) {
	if err := checkIMSI("--imsi-start", start); err != nil {
		return nil, err
	}
	if count < 1 || count > maxProvision {
		return nil, usagef("--count: want 1 to %d", maxProvision)
	}
	first, err := strconv.ParseUint(start, 10, 64)
	if err != nil {
		return nil, usagef("--imsi-start: want digits")
	}
	limit := uint64(1)
	for range len(start) {
		limit *= 10
	}
	if first+uint64(count) > limit {
		return nil, usagef("--imsi-start and --count: the range would pass %s (%d digits)", strings.Repeat("9", len(start)), len(start))
	}
	out := make([]string, count)
	for i := range out {
		out[i] = fmt.Sprintf("%0*d", len(start), first+uint64(i))
	}
	return out, nil
}

// writeProvision writes the provisioning file: csv as hss.ReadSubscribersCSV
// reads it, or a JSON array of {imsi, k, opc, amf, sqn}. Written by hand
// into one buffer, so that no copy of a key outlives it (the fields are
// digits and hex: nothing to escape).
func writeProvision(dst io.Writer, subs []hss.Subscriber, format string) error {
	w := bufio.NewWriter(dst)
	var line []byte
	defer func() { clear(line) }()
	if format == "csv" {
		w.WriteString("imsi,k,opc,amf,sqn\n")
	} else {
		w.WriteString("[\n")
	}
	for i := range subs {
		s := &subs[i]
		amf := []byte{byte(s.AMF >> 8), byte(s.AMF)}
		sqn := s.SQN.Bytes()
		if format == "csv" {
			line = append(line[:0], s.IMSI...)
			line = appendHexField(line, s.K[:])
			line = appendHexField(line, s.OPc[:])
			line = appendHexField(line, amf)
			line = appendHexField(line, sqn[:])
			line = append(line, '\n')
		} else {
			line = append(line[:0], `  {"imsi": "`...)
			line = append(line, s.IMSI...)
			line = hex.AppendEncode(append(line, `", "k": "`...), s.K[:])
			line = hex.AppendEncode(append(line, `", "opc": "`...), s.OPc[:])
			line = hex.AppendEncode(append(line, `", "amf": "`...), amf)
			line = hex.AppendEncode(append(line, `", "sqn": "`...), sqn[:])
			line = append(line, `"}`...)
			if i < len(subs)-1 {
				line = append(line, ',')
			}
			line = append(line, '\n')
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	if format == "json" {
		w.WriteString("]\n")
	}
	return w.Flush()
}

func (c *subCmd) rewrap(args []string) error {
	fs := c.flags("rewrap")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := c.open(); err != nil {
		return err
	}
	sealer, err := c.sealer()
	if err != nil {
		return err
	}
	imsis, err := c.allIMSIs()
	if err != nil {
		return err
	}
	res, err := c.store.Rewrap(c.ctx, imsis, sealer.Rewrap)
	fmt.Fprintf(c.stdout, "%d records sealed again under key %s, %d already were, %d deleted meanwhile, %d failed\n",
		res.Rewrapped, sealer.SealKeyID(), res.Current, res.Gone, len(res.Failed))
	if err != nil {
		return fmt.Errorf("%w; run rewrap again", err)
	}
	if len(res.Failed) > 0 {
		var b strings.Builder
		for _, f := range res.Failed {
			fmt.Fprintf(&b, "%s: %v\n", f.IMSI, f.Err)
		}
		fmt.Fprintf(&b, "%d records are still under an older key, or do not open: keep every key in the key file until rewrap reports none", len(res.Failed))
		return errors.New(b.String())
	}
	return nil
}

// imsiRanges shows IMSIs compactly: consecutive ones as FIRST-LAST.
func imsiRanges(imsis []string) string {
	if len(imsis) == 0 {
		return "none"
	}
	s := slices.Clone(imsis)
	slices.SortFunc(s, func(a, b string) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return strings.Compare(a, b)
	})
	var parts []string
	for i := 0; i < len(s); {
		j := i
		for j+1 < len(s) && next(s[j], s[j+1]) {
			j++
		}
		if j == i {
			parts = append(parts, s[i])
		} else {
			parts = append(parts, s[i]+"-"+s[j])
		}
		i = j + 1
	}
	const most = 20
	if len(parts) > most {
		return strings.Join(parts[:most], ", ") + fmt.Sprintf(" and %d more", len(parts)-most)
	}
	return strings.Join(parts, ", ")
}

// next reports whether b is the IMSI after a.
func next(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && y == x+1
}
