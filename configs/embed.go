// Package configs carries the example configuration, which aaad also uses as
// its built-in defaults when started without --config.
package configs

import "embed"

// FS holds aaad.yaml and subscribers.csv. Paths in aaad.yaml are relative to
// the repository root ("configs/subscribers.csv"), so look them up here
// under the same names.
//
//go:embed aaad.yaml subscribers.csv
var FS embed.FS

// DefaultConfig is the name of the built-in configuration in FS.
const DefaultConfig = "aaad.yaml"
