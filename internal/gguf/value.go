package gguf

import (
	"fmt"
	"math"
)

// KV is one metadata entry.
type KV struct {
	Key   string
	Value Value
}

// Value is a metadata value of any GGUF type. Scalars keep their exact type so a
// round trip writes the same bytes. An array longer than ReadOptions.MaxArrayElems
// keeps only Elem and Len (Skipped reports it); its Items are nil.
type Value struct {
	Type  ValueType
	u     uint64 // unsigned ints, bool, and the bits of signed ints
	f     float64
	s     string
	Elem  ValueType // arrays: element type
	Len   uint64    // arrays: element count (also when skipped)
	Items []Value   // arrays: elements, nil when skipped
}

// Constructors for the writer and for tests.
func Uint8(v uint8) Value     { return Value{Type: ValUint8, u: uint64(v)} }
func Int8(v int8) Value       { return Value{Type: ValInt8, u: uint64(int64(v))} }
func Uint16(v uint16) Value   { return Value{Type: ValUint16, u: uint64(v)} }
func Int16(v int16) Value     { return Value{Type: ValInt16, u: uint64(int64(v))} }
func Uint32(v uint32) Value   { return Value{Type: ValUint32, u: uint64(v)} }
func Int32(v int32) Value     { return Value{Type: ValInt32, u: uint64(int64(v))} }
func Uint64(v uint64) Value   { return Value{Type: ValUint64, u: v} }
func Int64(v int64) Value     { return Value{Type: ValInt64, u: uint64(v)} }
func Float32(v float32) Value { return Value{Type: ValFloat32, f: float64(v)} }
func Float64(v float64) Value { return Value{Type: ValFloat64, f: v} }
func String(v string) Value   { return Value{Type: ValString, s: v} }
func Bool(v bool) Value {
	var u uint64
	if v {
		u = 1
	}
	return Value{Type: ValBool, u: u}
}

// Array builds an array value; every item must have type elem.
func Array(elem ValueType, items []Value) Value {
	if items == nil {
		items = []Value{} // nil Items marks a skipped array
	}
	return Value{Type: ValArray, Elem: elem, Len: uint64(len(items)), Items: items}
}

// Strings, Int32s, Float32s build the common array kinds (tokenizer data).
func Strings(v []string) Value {
	items := make([]Value, len(v))
	for i, s := range v {
		items[i] = String(s)
	}
	return Array(ValString, items)
}

func Int32s(v []int32) Value {
	items := make([]Value, len(v))
	for i, x := range v {
		items[i] = Int32(x)
	}
	return Array(ValInt32, items)
}

func Float32s(v []float32) Value {
	items := make([]Value, len(v))
	for i, x := range v {
		items[i] = Float32(x)
	}
	return Array(ValFloat32, items)
}

func Bools(v []bool) Value {
	items := make([]Value, len(v))
	for i, x := range v {
		items[i] = Bool(x)
	}
	return Array(ValBool, items)
}

// Skipped reports an array whose contents were not kept (too many elements).
func (v Value) Skipped() bool { return v.Type == ValArray && v.Items == nil && v.Len > 0 }

func (v Value) isSigned() bool {
	return v.Type == ValInt8 || v.Type == ValInt16 || v.Type == ValInt32 || v.Type == ValInt64
}

func (v Value) isUnsigned() bool {
	return v.Type == ValUint8 || v.Type == ValUint16 || v.Type == ValUint32 || v.Type == ValUint64
}

// Uint returns an integer value (any width, signed only when ≥ 0) as uint64.
func (v Value) Uint() (uint64, bool) {
	switch {
	case v.isUnsigned():
		return v.u, true
	case v.isSigned() && int64(v.u) >= 0:
		return v.u, true
	}
	return 0, false
}

// Int returns an integer value of any width as int64 (uint64 > MaxInt64 fails).
func (v Value) Int() (int64, bool) {
	switch {
	case v.isSigned():
		return int64(v.u), true
	case v.isUnsigned() && v.u <= math.MaxInt64:
		return int64(v.u), true
	}
	return 0, false
}

// Float returns a float (or integer) value as float64.
func (v Value) Float() (float64, bool) {
	if v.Type == ValFloat32 || v.Type == ValFloat64 {
		return v.f, true
	}
	if i, ok := v.Int(); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a bool value.
func (v Value) Bool() (bool, bool) { return v.u != 0, v.Type == ValBool }

// Text returns a string value.
func (v Value) Text() (string, bool) { return v.s, v.Type == ValString }

// Ints returns an array of integers (kept, not skipped) as []int64.
func (v Value) Ints() ([]int64, bool) {
	if v.Type != ValArray || v.Skipped() {
		return nil, false
	}
	out := make([]int64, len(v.Items))
	for i, it := range v.Items {
		x, ok := it.Int()
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}

// Bools returns an array of bools (kept, not skipped).
func (v Value) Bools() ([]bool, bool) {
	if v.Type != ValArray || v.Skipped() || v.Elem != ValBool {
		return nil, false
	}
	out := make([]bool, len(v.Items))
	for i, it := range v.Items {
		out[i] = it.u != 0
	}
	return out, true
}

// String formats the value for people (arrays abbreviated).
func (v Value) String() string {
	switch {
	case v.Type == ValString:
		return fmt.Sprintf("%q", v.s)
	case v.Type == ValBool:
		return fmt.Sprint(v.u != 0)
	case v.Type == ValFloat32 || v.Type == ValFloat64:
		return fmt.Sprint(v.f)
	case v.isSigned():
		return fmt.Sprint(int64(v.u))
	case v.isUnsigned():
		return fmt.Sprint(v.u)
	case v.Type == ValArray:
		if v.Skipped() {
			return fmt.Sprintf("[%d × %s, not loaded]", v.Len, v.Elem)
		}
		if len(v.Items) > 8 {
			return fmt.Sprintf("[%v %v %v … (%d × %s)]", v.Items[0], v.Items[1], v.Items[2], v.Len, v.Elem)
		}
		return fmt.Sprint(v.Items)
	}
	return "?"
}
