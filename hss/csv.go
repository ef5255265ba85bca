package hss

import (
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
// the line and column, never the value: the file holds keys.
func ReadSubscribersCSV(r io.Reader) ([]Subscriber, error) {
	cr := csv.NewReader(r)
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
		if _, dup := col[h]; dup {
			return nil, fmt.Errorf("subscribers: header: column %q twice", h)
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
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return nil, fmt.Errorf("subscribers: line %d: %w", line, err)
		}
		s, err := parseRow(rec, col, hasOP)
		if err != nil {
			return nil, fmt.Errorf("subscribers: line %d: %w", line, err)
		}
		subs = append(subs, s)
	}
	return subs, nil
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
