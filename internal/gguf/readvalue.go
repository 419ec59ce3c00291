package gguf

import "fmt"

// value decodes one metadata value of type t for key.
func (p *parser) value(t ValueType, key string, depth int) (Value, error) {
	w := p.w
	v := Value{Type: t}
	switch t {
	case ValUint8, ValBool:
		b, err := w.u8(key)
		if t == ValBool && err == nil && b > 1 {
			return v, fmt.Errorf("%w: %s holds bool byte %d", ErrUnknownType, key, b)
		}
		v.u = uint64(b)
		return v, err
	case ValInt8:
		b, err := w.u8(key)
		v.u = uint64(int64(int8(b)))
		return v, err
	case ValUint16:
		x, err := w.u16(key)
		v.u = uint64(x)
		return v, err
	case ValInt16:
		x, err := w.u16(key)
		v.u = uint64(int64(int16(x)))
		return v, err
	case ValUint32:
		x, err := w.u32(key)
		v.u = uint64(x)
		return v, err
	case ValInt32:
		x, err := w.u32(key)
		v.u = uint64(int64(int32(x)))
		return v, err
	case ValFloat32:
		x, err := w.u32(key)
		v.f = f32(x)
		return v, err
	case ValUint64, ValInt64:
		x, err := w.u64(key)
		v.u = x
		return v, err
	case ValFloat64:
		x, err := w.u64(key)
		v.f = f64(x)
		return v, err
	case ValString:
		s, err := w.str(key)
		if err == nil {
			if err = p.charge(int64(len(s))); err != nil {
				err = fmt.Errorf("metadata %q: %w", key, err)
			}
		}
		v.s = s
		return v, err
	case ValArray:
		return p.array(key, depth)
	}
	return v, fmt.Errorf("%w: metadata %q has value type %d", ErrUnknownType, key, uint32(t))
}

// arrayHeader reads an array's element type and length and checks that the
// remaining bytes could hold that many elements.
func (p *parser) arrayHeader(key string, depth int) (ValueType, uint64, error) {
	if depth >= maxNesting {
		return 0, 0, fmt.Errorf("%w: metadata %q nests arrays deeper than %d", ErrTooLarge, key, maxNesting)
	}
	et, err := p.w.u32("array element type")
	if err != nil {
		return 0, 0, fmt.Errorf("metadata %q: %w", key, err)
	}
	elem := ValueType(et)
	if elem > ValFloat64 {
		return 0, 0, fmt.Errorf("%w: metadata %q is an array of value type %d", ErrUnknownType, key, et)
	}
	n, err := p.w.u64("array length")
	if err != nil {
		return 0, 0, fmt.Errorf("metadata %q: %w", key, err)
	}
	if n > p.w.remaining()/elem.minSize() {
		return 0, 0, fmt.Errorf("%w: metadata %q claims %d %s elements; only %d bytes remain", ErrTooLarge, key, n, elem, p.w.remaining())
	}
	return elem, n, nil
}

func (p *parser) array(key string, depth int) (Value, error) {
	elem, n, err := p.arrayHeader(key, depth)
	if err != nil {
		return Value{}, err
	}
	v := Value{Type: ValArray, Elem: elem, Len: n}
	// Too long, or past the memory budget (nested arrays of 1024 × 1024 …
	// items each cost 80 bytes): keep type and length only.
	if (p.opts.MaxArrayElems >= 0 && n > uint64(p.opts.MaxArrayElems)) || !p.fits(n*valueCost) {
		return v, p.skipElems(elem, n, key, depth+1)
	}
	if err := p.charge(int64(n * valueCost)); err != nil {
		return Value{}, fmt.Errorf("metadata %q: %w", key, err)
	}
	v.Items = make([]Value, n)
	for i := range v.Items {
		if v.Items[i], err = p.value(elem, key, depth+1); err != nil {
			return Value{}, err
		}
	}
	return v, nil
}

// skipElems passes over n elements without keeping them; strings are walked
// (their lengths vary) but never allocated.
func (p *parser) skipElems(elem ValueType, n uint64, key string, depth int) error {
	if sz := elem.fixedSize(); sz > 0 {
		return p.w.skip(n*sz, key) // n*sz ≤ remaining: checked in arrayHeader
	}
	for i := uint64(0); i < n; i++ {
		switch elem {
		case ValString:
			if err := p.w.skipStr(key); err != nil {
				return err
			}
		case ValArray:
			e, m, err := p.arrayHeader(key, depth)
			if err != nil {
				return err
			}
			if err := p.skipElems(e, m, key, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}
