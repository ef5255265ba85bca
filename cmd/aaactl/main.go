// Command aaactl is the operator's tool for aaad.
//
//	aaactl vector --k HEX (--opc HEX | --op HEX) --rand HEX --sqn HEX --amf HEX [--network-name NAME]
//
// prints one authentication vector as JSON, so an operator can check a SIM
// (or a SIM vendor's data) against what the HSS computes, as osmocom's
// osmo-auc-gen does.
//
//	aaactl --config FILE subscriber (add | import | export | show | delete | list | provision | rewrap) ...
//
// manages the subscribers of a shared store (store.backend: redis) with
// the key-encryption keys of hss.key_file or hss.key_env: K and OPc go in
// sealed and come out only when asked (export --with-keys).
// docs/provisioning.md tells the whole story.
//
//	aaactl --config FILE deregister IMSI
//
// ends a subscriber's registration through the running aaad, over its
// admin endpoint (admin.listen: a unix socket, or loopback TCP with the
// token of admin.token_file); docs/operations.md, "The admin endpoint".
//
//	aaactl --config FILE sessions [--imsi IMSI]
//	aaactl --config FILE disconnect IMSI
//
// list a subscriber's live sessions, and end them at their access points
// (printing each one's ACK or NAK), the same way.
//
//	aaactl --config FILE reload
//
// makes aaad read its configuration again, as SIGHUP does, and prints what
// was reloaded, or why the new configuration was refused.
package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

const usage = `usage: aaactl [--config FILE] COMMAND [flags]

commands:
  vector      compute an authentication vector (Milenage, TS 35.206)
              --k HEX (--opc HEX | --op HEX) --rand HEX --sqn HEX --amf HEX [--network-name NAME]
  subscriber  manage the subscribers of the shared store (store.backend: redis)
              add | import | export | show | delete | list | provision | rewrap
              ('aaactl subscriber help' for each one's flags)
  deregister  end a subscriber's registration through the running aaad
              IMSI (over admin.listen; 'aaactl deregister --help')
  sessions    list the live sessions (or a subscriber's) on the running aaad
              [--imsi IMSI] (over admin.listen; 'aaactl sessions --help')
  disconnect  end a subscriber's sessions at their access points
              IMSI (over admin.listen; 'aaactl disconnect --help')
  reload      make the running aaad read its configuration again (as SIGHUP)
              and print what was reloaded (over admin.listen)

--config FILE is aaad's configuration (only its hss, store and admin
sections are read; a file with just those will do). The subscriber commands
need it, except provision --no-store; deregister, sessions, disconnect and
reload need its admin.listen (and admin.token_file over TCP).
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit codes: 0 done, 1 failed (the store, a file, a bad row, aaad
// refusing or unreachable), 2 the command line was wrong.
const (
	exitFailed = 1
	exitUsage  = 2
)

func run(args []string, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	global := flag.NewFlagSet("aaactl", flag.ContinueOnError)
	global.SetOutput(stderr)
	global.Usage = func() {}
	configPath := global.String("config", "", "aaad's configuration file (its hss, store and admin sections)")
	if err := global.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, usage)
			return 0
		}
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	args = global.Args()
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "vector":
		if err := vector(args[1:], stdout, stderr); err != nil {
			if !errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(stderr, "aaactl vector:", err)
			}
			return exitUsage
		}
		return 0
	case "subscriber":
		return subscriber(ctx, *configPath, args[1:], stdout, stderr)
	case "deregister":
		return deregister(ctx, *configPath, args[1:], stdout, stderr)
	case "sessions":
		return sessions(ctx, *configPath, args[1:], stdout, stderr)
	case "disconnect":
		return disconnect(ctx, *configPath, args[1:], stdout, stderr)
	case "reload":
		return reload(ctx, *configPath, args[1:], stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "aaactl: unknown command %q\n%s", args[0], usage)
	return exitUsage
}

// vectorJSON is the output: every field lowercase hex. ck_prime and ik_prime
// appear when a network name is given (TS 33.402 A.2).
type vectorJSON struct {
	RAND    string `json:"rand"`
	SQN     string `json:"sqn"`
	AMF     string `json:"amf"`
	AK      string `json:"ak"`
	MACA    string `json:"mac_a"`
	XRES    string `json:"xres"`
	AUTN    string `json:"autn"`
	CK      string `json:"ck"`
	IK      string `json:"ik"`
	CKPrime string `json:"ck_prime,omitempty"`
	IKPrime string `json:"ik_prime,omitempty"`
}

func vector(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("vector", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // errors are printed by run, masked
	kHex := fs.String("k", "", "subscriber key K (32 hex digits)")
	opcHex := fs.String("opc", "", "OPc (32 hex digits)")
	opHex := fs.String("op", "", "OP (32 hex digits), instead of --opc")
	randHex := fs.String("rand", "", "RAND (32 hex digits)")
	sqnHex := fs.String("sqn", "", "SQN (12 hex digits)")
	amfHex := fs.String("amf", "", "AMF (4 hex digits)")
	network := fs.String("network-name", "", "access network name: also derive CK'/IK' for EAP-AKA'")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return maskArgs(err, args)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %s", shownArg(fs.Arg(0)))
	}
	var (
		k    milenage.Key
		opc  milenage.OPc
		rand [aka.RANDLen]byte
		sqn  [aka.SQNLen]byte
		amf  [aka.AMFLen]byte
	)
	if err := decodeHex("k", *kHex, k[:]); err != nil {
		return err
	}
	switch {
	case *opcHex != "" && *opHex != "":
		return errors.New("give --opc or --op, not both")
	case *opcHex != "":
		if err := decodeHex("opc", *opcHex, opc[:]); err != nil {
			return err
		}
	case *opHex != "":
		var op milenage.OP
		if err := decodeHex("op", *opHex, op[:]); err != nil {
			return err
		}
		opc = milenage.ComputeOPc(k, op)
	default:
		return errors.New("--opc or --op is required")
	}
	for _, f := range []struct {
		name, v string
		dst     []byte
	}{{"rand", *randHex, rand[:]}, {"sqn", *sqnHex, sqn[:]}, {"amf", *amfHex, amf[:]}} {
		if err := decodeHex(f.name, f.v, f.dst); err != nil {
			return err
		}
	}

	c := milenage.New(k, opc)
	v := aka.NewVector(c, &rand, aka.SQNFromBytes(sqn), uint16(amf[0])<<8|uint16(amf[1]))
	_, _, _, ak := c.F2345(&rand)
	out := vectorJSON{
		RAND: hex.EncodeToString(rand[:]),
		SQN:  hex.EncodeToString(sqn[:]),
		AMF:  hex.EncodeToString(amf[:]),
		AK:   hex.EncodeToString(ak[:]),
		MACA: hex.EncodeToString(v.AUTN[8:16]),
		XRES: hex.EncodeToString(v.Res()),
		AUTN: hex.EncodeToString(v.AUTN[:]),
		CK:   hex.EncodeToString(v.CK[:]),
		IK:   hex.EncodeToString(v.IK[:]),
	}
	if *network != "" {
		ckp, ikp := aka.DeriveCKIKPrime(&v.CK, &v.IK, []byte(*network), v.SQNxorAK())
		out.CKPrime = hex.EncodeToString(ckp[:])
		out.IKPrime = hex.EncodeToString(ikp[:])
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func decodeHex(name, s string, dst []byte) error {
	if s == "" {
		return fmt.Errorf("--%s is required", name)
	}
	if len(s) != 2*len(dst) {
		return fmt.Errorf("--%s: want %d hex digits", name, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(s)); err != nil {
		return fmt.Errorf("--%s: not hex", name)
	}
	return nil
}
