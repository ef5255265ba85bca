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
// with both line numbers.
func ReadSubscribersCSV(r io.Reader) ([]Subscriber, error) {
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
	var subs []Subscriber
	first := map[string]int{} // IMSI -> line it was first listed on
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			// A csv.ParseError names its line and column, never the
			// field; FieldPos is only valid after a record was read.
			return nil, fmt.Errorf("subscribers: %w", err)
		}
		line, _ := cr.FieldPos(0)
		s, err := parseRow(rec, col, hasOP)
		if err != nil {
			return nil, fmt.Errorf("subscribers: line %d: %w", line, err)
		}
		if l, dup := first[s.IMSI]; dup {
			clear(s.K[:])
			clear(s.OPc[:])
			return nil, fmt.Errorf("subscribers: line %d: IMSI listed twice (first on line %d)", line, l)
		}
		first[s.IMSI] = line
		subs = append(subs, s)
	}
	return subs, nil
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
