package gguf

import "math"

func f64(u uint64) float64 { return math.Float64frombits(u) }

// Get returns the metadata value for key.
func (f *File) Get(key string) (Value, bool) {
	if f.index == nil {
		f.index = make(map[string]int, len(f.KV))
		for i, kv := range f.KV {
			f.index[kv.Key] = i
		}
	}
	i, ok := f.index[key]
	if !ok {
		return Value{}, false
	}
	return f.KV[i].Value, true
}

// GetUint returns an integer metadata value (any width) as uint64.
func (f *File) GetUint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Uint()
}

// GetString returns a string metadata value.
func (f *File) GetString(key string) (string, bool) {
	v, ok := f.Get(key)
	if !ok {
		return "", false
	}
	return v.Text()
}

// GetFloat returns a float (or integer) metadata value.
func (f *File) GetFloat(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return v.Float()
}

// GetInts returns an array of integers that was kept (not skipped).
func (f *File) GetInts(key string) ([]int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return nil, false
	}
	return v.Ints()
}

// Tensor returns the tensor info with the given name.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return TensorInfo{}, false
}
