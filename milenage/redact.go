package milenage

import (
	"fmt"
	"io"
)

// redacted is what every secret in this package prints as.
const redacted = "REDACTED"

// The types below implement fmt.Formatter as well as fmt.Stringer and
// fmt.GoStringer: fmt hands every verb (%v, %s, %x, %X, %q, %d, %#v ...) to
// Format when it exists, whereas String only covers %v and %s, and a [16]byte
// printed with %x would otherwise show the key. The methods have value
// receivers so that values and pointers are both covered.

// String implements fmt.Stringer without disclosing K.
func (Key) String() string { return redacted }

// GoString implements fmt.GoStringer without disclosing K.
func (Key) GoString() string { return redacted }

// Format implements fmt.Formatter: whatever the verb, K prints as REDACTED.
func (Key) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// String implements fmt.Stringer without disclosing OP.
func (OP) String() string { return redacted }

// GoString implements fmt.GoStringer without disclosing OP.
func (OP) GoString() string { return redacted }

// Format implements fmt.Formatter: whatever the verb, OP prints as REDACTED.
func (OP) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// String implements fmt.Stringer without disclosing OPc.
func (OPc) String() string { return redacted }

// GoString implements fmt.GoStringer without disclosing OPc.
func (OPc) GoString() string { return redacted }

// Format implements fmt.Formatter: whatever the verb, OPc prints as REDACTED.
func (OPc) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }

// String implements fmt.Stringer. A Cipher holds the expanded key schedule of
// K, from which K follows directly, and OPc.
func (Cipher) String() string { return redacted }

// GoString implements fmt.GoStringer without disclosing the key schedule.
func (Cipher) GoString() string { return redacted }

// Format implements fmt.Formatter: whatever the verb, a Cipher prints as
// REDACTED.
func (Cipher) Format(f fmt.State, _ rune) { _, _ = io.WriteString(f, redacted) }
