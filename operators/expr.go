package operators

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// expr is a band-math expression: numbers, column names, + - * /, unary
// minus and parentheses.
type expr struct {
	op          byte // 0 for leaves, 'n' for negation
	num         float32
	name        string
	left, right *expr
}

func parseExpr(s string) (*expr, error) {
	p := &exprParser{src: s}
	e, err := p.sum()
	if err != nil {
		return nil, err
	}
	p.skip()
	if p.pos < len(p.src) {
		return nil, fmt.Errorf("unexpected %q at offset %d", p.src[p.pos:], p.pos)
	}
	return e, nil
}

type exprParser struct {
	src string
	pos int
}

func (p *exprParser) skip() {
	for p.pos < len(p.src) && p.src[p.pos] == ' ' {
		p.pos++
	}
}

func (p *exprParser) sum() (*expr, error) {
	l, err := p.product()
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.pos >= len(p.src) || (p.src[p.pos] != '+' && p.src[p.pos] != '-') {
			return l, nil
		}
		o := p.src[p.pos]
		p.pos++
		r, err := p.product()
		if err != nil {
			return nil, err
		}
		l = &expr{op: o, left: l, right: r}
	}
}

func (p *exprParser) product() (*expr, error) {
	l, err := p.unary()
	if err != nil {
		return nil, err
	}
	for {
		p.skip()
		if p.pos >= len(p.src) || (p.src[p.pos] != '*' && p.src[p.pos] != '/') {
			return l, nil
		}
		o := p.src[p.pos]
		p.pos++
		r, err := p.unary()
		if err != nil {
			return nil, err
		}
		l = &expr{op: o, left: l, right: r}
	}
}

func (p *exprParser) unary() (*expr, error) {
	p.skip()
	if p.pos >= len(p.src) {
		return nil, fmt.Errorf("expression ends early")
	}
	c := p.src[p.pos]
	switch {
	case c == '-':
		p.pos++
		e, err := p.unary()
		if err != nil {
			return nil, err
		}
		return &expr{op: 'n', left: e}, nil
	case c == '(':
		p.pos++
		e, err := p.sum()
		if err != nil {
			return nil, err
		}
		p.skip()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, fmt.Errorf("missing ) at offset %d", p.pos)
		}
		p.pos++
		return e, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.pos
		for p.pos < len(p.src) && (p.src[p.pos] >= '0' && p.src[p.pos] <= '9' || p.src[p.pos] == '.' || p.src[p.pos] == 'e') {
			p.pos++
		}
		v, err := strconv.ParseFloat(p.src[start:p.pos], 32)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", p.src[start:p.pos])
		}
		return &expr{num: float32(v)}, nil
	case unicode.IsLetter(rune(c)) || c == '_':
		start := p.pos
		for p.pos < len(p.src) && (unicode.IsLetter(rune(p.src[p.pos])) || unicode.IsDigit(rune(p.src[p.pos])) || p.src[p.pos] == '_') {
			p.pos++
		}
		return &expr{name: p.src[start:p.pos]}, nil
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", string(c), p.pos)
}

// vars appends the column names the expression uses, once each.
func (e *expr) vars(acc []string) []string {
	if e == nil {
		return acc
	}
	if e.name != "" {
		for _, a := range acc {
			if a == e.name {
				return acc
			}
		}
		return append(acc, e.name)
	}
	return e.right.vars(e.left.vars(acc))
}

// compile returns an evaluator taking values in the order of names.
func (e *expr) compile(names []string) func([]float32) float32 {
	switch {
	case e.name != "":
		i := indexOf(names, e.name)
		return func(v []float32) float32 { return v[i] }
	case e.op == 0:
		n := e.num
		return func([]float32) float32 { return n }
	case e.op == 'n':
		l := e.left.compile(names)
		return func(v []float32) float32 { return -l(v) }
	}
	l, r := e.left.compile(names), e.right.compile(names)
	switch e.op {
	case '+':
		return func(v []float32) float32 { return l(v) + r(v) }
	case '-':
		return func(v []float32) float32 { return l(v) - r(v) }
	case '*':
		return func(v []float32) float32 { return l(v) * r(v) }
	}
	return func(v []float32) float32 { return l(v) / r(v) }
}

func (e *expr) String() string {
	switch {
	case e.name != "":
		return e.name
	case e.op == 0:
		return strings.TrimRight(strconv.FormatFloat(float64(e.num), 'f', -1, 32), ".")
	case e.op == 'n':
		return "-" + e.left.String()
	}
	return "(" + e.left.String() + " " + string(e.op) + " " + e.right.String() + ")"
}
