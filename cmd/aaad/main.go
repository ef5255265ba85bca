// Command aaad is the AAA server: EAP-AKA' and EAP-AKA over RADIUS, with a
// built-in Milenage HSS.
//
//	aaad                         run on the built-in defaults (configs/aaad.yaml)
//	aaad --config FILE           run with FILE
//	aaad --check-config [--config FILE]   validate and exit
package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/aaa-project/aaa/configs"
)

func main() {
	os.Exit(realMain())
}

func realMain() int {
	configPath := flag.String("config", "", "configuration file (default: the built-in configs/aaad.yaml)")
	check := flag.Bool("check-config", false, "validate the configuration and exit")
	flag.Parse()
	// SIGHUP reloads (systemctl reload sends it); caught from the start,
	// so that it never kills the process and its in-memory state.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)

	var fsys fs.FS // where files named in the config come from; nil = disk
	source := func() ([]byte, error) { return os.ReadFile(*configPath) }
	if *configPath == "" {
		fsys = configs.FS
		source = func() ([]byte, error) { return fs.ReadFile(configs.FS, configs.DefaultConfig) }
	}
	data, err := source()
	if err != nil {
		fmt.Fprintln(os.Stderr, "aaad:", err)
		return 2
	}
	cfg, err := loadConfig(data)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aaad: invalid configuration:")
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	app, err := newApp(cfg, fsys)
	if err != nil {
		fmt.Fprintln(os.Stderr, "aaad:", err)
		return 2
	}
	app.source = source
	if *check {
		fmt.Println("configuration ok")
		return 0
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := app.run(ctx, hup); err != nil {
		app.log.Error("aaad stopped on error", zapError(err))
		return 1
	}
	return 0
}
