package hss

import (
	"bufio"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aaa-project/aaa/aka"
	"github.com/aaa-project/aaa/milenage"
)

// ReadSubscribersCSV reads subscriber records: a header naming the columns
// imsi, k, opc (or op), amf and sqn, in any order, then one row per
// subscriber, all hex but the IMSI. sqn is the last SQN issued. Errors name
// the line and column, never the value: the file holds keys. A UTF-8 byte
// order mark at the start is skipped, and lines may end in LF, CRLF or a
// lone CR (as spreadsheets export them). An IMSI listed twice is refused
// with both line numbers. Every bad row is reported (ReadSubscriberRows).
func ReadSubscribersCSV(r io.Reader) ([]Subscriber, error) {
	rows, err := ReadSubscriberRows(r)
	if err != nil {
		return nil, err
	}
	subs := make([]Subscriber, len(rows))
	for i := range rows {
		subs[i] = rows[i].Subscriber
		rows[i].Wipe()
	}
	return subs, nil
}

// Row is a subscriber read from a CSV file, with the line it is on (as an
// editor counts lines).
type Row struct {
	Line int
	Subscriber
}

// Wipe clears the row's keys.
func (r *Row) Wipe() {
	clear(r.K[:])
	clear(r.OPc[:])
}

// RowErrors is every bad row of a file, in line order, each "line N: what"
// (never a value). It is what ReadSubscriberRows returns when the header
// was good but rows were not.
type RowErrors []RowError

// RowError is one bad row.
type RowError struct {
	Line int
	Err  error
}

func (e RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }

func (e RowErrors) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "subscribers: %d bad row", len(e))
	if len(e) != 1 {
		b.WriteByte('s')
	}
	for _, r := range e {
		b.WriteString("\nsubscribers: ")
		b.WriteString(r.Error())
	}
	return b.String()
}

// ReadSubscriberRows reads a subscribers file as ReadSubscribersCSV does,
// with each row's line. A bad header stops it at once; past a bad row it
// goes on, so that one run names every bad row (a RowErrors). On any error
// it returns no rows (their keys wiped): a file is taken whole or not at
// all.
func ReadSubscriberRows(r io.Reader) ([]Row, error) {
	br := bufio.NewReader(r)
	if b, err := br.Peek(len(utf8BOM)); err == nil && string(b) == utf8BOM {
		br.Discard(len(utf8BOM))
	}
	cr := csv.NewReader(&lineEnds{r: br})
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("subscribers: empty file, want a header imsi,k,opc,amf,sqn")
		}
		return nil, fmt.Errorf("subscribers: header: %w", err)
	}
	col := map[string]int{}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if j, dup := col[h]; dup {
			// No name: a file without its header has a row of keys here.
			return nil, fmt.Errorf("subscribers: header: columns %d and %d have the same name", j+1, i+1)
		}
		col[h] = i
	}
	_, hasOP := col["op"]
	_, hasOPc := col["opc"]
	switch {
	case hasOP && hasOPc:
		return nil, errors.New("subscribers: header: give op or opc, not both")
	case !hasOP && !hasOPc:
		return nil, errors.New("subscribers: header: missing column opc (or op)")
	}
	for _, c := range []string{"imsi", "k", "amf", "sqn"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("subscribers: header: missing column %s", c)
		}
	}
	var (
		rows []Row
		bad  RowErrors
	)
	fail := func(err error) ([]Row, error) {
		for i := range rows {
			rows[i].Wipe()
		}
		return nil, err
	}
	first := map[string]int{} // IMSI -> line it was first listed on
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A csv.ParseError names its line and column, never the
			// field, and the reader goes on at the next record; any
			// other error is the reader's own and ends the file.
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fail(fmt.Errorf("subscribers: %w", err))
			}
			bad = append(bad, RowError{Line: pe.Line, Err: csvSyntax(pe, len(header))})
			continue
		}
		line, _ := cr.FieldPos(0) // only valid after a record was read
		s, err := parseRow(rec, col, hasOP)
		if err != nil {
			clear(s.K[:])
			clear(s.OPc[:])
			bad = append(bad, RowError{Line: line, Err: err})
			continue
		}
		if l, dup := first[s.IMSI]; dup {
			clear(s.K[:])
			clear(s.OPc[:])
			bad = append(bad, RowError{Line: line, Err: fmt.Errorf("IMSI listed twice (first on line %d)", l)})
			continue
		}
		first[s.IMSI] = line
		rows = append(rows, Row{Line: line, Subscriber: s})
	}
	if len(bad) > 0 {
		return fail(bad)
	}
	return rows, nil
}

// csvSyntax says what a csv.ParseError says, but for the line, which the
// RowError carries.
func csvSyntax(pe *csv.ParseError, columns int) error {
	if errors.Is(pe.Err, csv.ErrFieldCount) {
		return fmt.Errorf("%w (the header has %d)", pe.Err, columns)
	}
	return fmt.Errorf("character %d: %w", pe.Column, pe.Err)
}

const utf8BOM = "\xef\xbb\xbf"

// lineEnds turns every line end (CRLF, or a lone CR as old Mac and some
// spreadsheet exports write) into LF, so that encoding/csv, which knows
// only LF and CRLF, sees one line per line and counts lines as an editor
// does.
type lineEnds struct {
	r      io.Reader
	lastCR bool // the previous byte read was a CR (already turned into LF)
}

func (l *lineEnds) Read(p []byte) (int, error) {
	for {
		n, err := l.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			switch {
			case c == '\n' && l.lastCR:
				l.lastCR = false
				continue
			case c == '\r':
				c = '\n'
				l.lastCR = true
			default:
				l.lastCR = false
			}
			p[j] = c
			j++
		}
		if j > 0 || err != nil || n == 0 {
			return j, err
		}
	}
}

func parseRow(rec []string, col map[string]int, hasOP bool) (Subscriber, error) {
	var s Subscriber
	s.IMSI = strings.TrimSpace(rec[col["imsi"]])
	if !validIMSI(s.IMSI) {
		return s, errors.New("column imsi: want 6 to 15 digits")
	}
	if err := hexField(rec, col, "k", s.K[:]); err != nil {
		return s, err
	}
	if hasOP {
		var op milenage.OP
		if err := hexField(rec, col, "op", op[:]); err != nil {
			return s, err
		}
		s.OPc = milenage.ComputeOPc(s.K, op)
		clear(op[:])
	} else if err := hexField(rec, col, "opc", s.OPc[:]); err != nil {
		return s, err
	}
	var amf [2]byte
	if err := hexField(rec, col, "amf", amf[:]); err != nil {
		return s, err
	}
	s.AMF = uint16(amf[0])<<8 | uint16(amf[1])
	var sqn [aka.SQNLen]byte
	if err := hexField(rec, col, "sqn", sqn[:]); err != nil {
		return s, err
	}
	s.SQN = aka.SQNFromBytes(sqn)
	return s, nil
}

func hexField(rec []string, col map[string]int, name string, dst []byte) error {
	v := strings.TrimSpace(rec[col[name]])
	if len(v) != 2*len(dst) {
		return fmt.Errorf("column %s: want %d hex digits", name, 2*len(dst))
	}
	if _, err := hex.Decode(dst, []byte(v)); err != nil {
		return fmt.Errorf("column %s: not hex", name)
	}
	return nil
}

// ValidIMSI reports whether s is an IMSI as the subscriber records take
// it: 6 to 15 decimal digits.
func ValidIMSI(s string) bool { return validIMSI(s) }

func validIMSI(s string) bool {
	if len(s) < 6 || len(s) > 15 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
