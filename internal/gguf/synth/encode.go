package synth

import (
	"encoding/binary"
	"math"
)

// f16 converts to IEEE half precision, rounding to nearest even (as
// GGML_FP32_TO_FP16 does), with subnormals, infinities and NaN.
func f16(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int32(b>>23&0xff) - 127 + 15
	mant := b & 0x7fffff
	switch {
	case b&0x7fffffff > 0x7f800000: // NaN
		return sign | 0x7e00
	case exp >= 31: // overflow or Inf
		return sign | 0x7c00
	case exp <= 0: // subnormal or zero
		if exp < -10 {
			return sign
		}
		mant |= 0x800000
		shift := uint32(14 - exp)
		half := uint32(1) << (shift - 1)
		r := mant >> shift
		rem := mant & (1<<shift - 1)
		if rem > half || (rem == half && r&1 == 1) {
			r++
		}
		return sign | uint16(r)
	}
	r := uint32(exp)<<10 | mant>>13
	rem := mant & 0x1fff
	if rem > 0x1000 || (rem == 0x1000 && r&1 == 1) {
		r++ // may carry into the exponent, which is still correct
	}
	return sign | uint16(r)
}

// f16to32 decodes half precision (tests check the encoders with it).
func f16to32(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h & 0x3ff)
	switch {
	case exp == 0:
		return math.Float32frombits(sign) + float32(mant)*float32(math.Ldexp(1, -24))*sgn(sign)
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | mant<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
}

func sgn(sign uint32) float32 {
	if sign != 0 {
		return -1
	}
	return 1
}

// encodeF32 appends little-endian float32s.
func encodeF32(dst []byte, x []float32) []byte {
	for _, v := range x {
		dst = binary.LittleEndian.AppendUint32(dst, math.Float32bits(v))
	}
	return dst
}

func encodeF16(dst []byte, x []float32) []byte {
	for _, v := range x {
		dst = binary.LittleEndian.AppendUint16(dst, f16(v))
	}
	return dst
}

// encodeQ8_0 follows quantize_row_q8_0_ref: per 32 values, d = max|x|/127 as f16,
// then round(x/d) as int8.
func encodeQ8_0(dst []byte, x []float32) []byte {
	for b := 0; b+32 <= len(x); b += 32 {
		blk := x[b : b+32]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		var id float32
		if d != 0 {
			id = 1 / d
		}
		dst = binary.LittleEndian.AppendUint16(dst, f16(d))
		for _, v := range blk {
			dst = append(dst, byte(int8(math.Round(float64(v*id)))))
		}
	}
	return dst
}

// encodeQ4_0 follows quantize_row_q4_0_ref: d = (value of largest magnitude)/-8,
// q = min(15, int(x/d + 8.5)); byte j holds element j (low nibble) and j+16
// (high nibble). Decoded value = (q-8)·d.
func encodeQ4_0(dst []byte, x []float32) []byte {
	for b := 0; b+32 <= len(x); b += 32 {
		blk := x[b : b+32]
		var amax, mx float32
		for _, v := range blk {
			if a := float32(math.Abs(float64(v))); a > amax {
				amax, mx = a, v
			}
		}
		d := mx / -8
		var id float32
		if d != 0 {
			id = 1 / d
		}
		dst = binary.LittleEndian.AppendUint16(dst, f16(d))
		for j := 0; j < 16; j++ {
			q0 := min(15, int8(blk[j]*id+8.5))
			q1 := min(15, int8(blk[j+16]*id+8.5))
			dst = append(dst, byte(q0)|byte(q1)<<4)
		}
	}
	return dst
}

// kvaluesMXFP4 are the E2M1 values ×2 (ggml-common.h kvalues_mxfp4); the
// block scale is stored halved to match (GGML_E8M0_TO_FP32_HALF).
var kvaluesMXFP4 = [16]float32{0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12}

// e8m0Half is ggml_e8m0_to_fp32_half: 2^(e−128).
func e8m0Half(e uint8) float32 {
	if e < 2 {
		return math.Float32frombits(0x00200000 << e)
	}
	return math.Float32frombits(uint32(e-1) << 23)
}

// encodeMXFP4 follows quantize_row_mxfp4_ref (ggml-quants.c): per 32 values an
// E8M0 exponent e = floor(log2(max|x|)) − 2 + 127, then the nearest of the 16
// E2M1 codes for each value; byte j holds element j (low nibble) and j+16 (high).
// Decoded value = kvalues_mxfp4[q] · 2^(e−128). gpt-oss ships its experts so.
func encodeMXFP4(dst []byte, x []float32) []byte {
	for b := 0; b+32 <= len(x); b += 32 {
		blk := x[b : b+32]
		var amax float32
		for _, v := range blk {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		var e uint8
		if amax > 0 {
			e = uint8(math.Floor(math.Log2(float64(amax))) - 2 + 127)
		}
		d := e8m0Half(e)
		dst = append(dst, e)
		for j := 0; j < 16; j++ {
			dst = append(dst, bestMXFP4(blk[j], d)|bestMXFP4(blk[j+16], d)<<4)
		}
	}
	return dst
}

func bestMXFP4(x, d float32) byte {
	best, bestErr := 0, float32(math.Abs(float64(kvaluesMXFP4[0]*d-x)))
	for i := 1; i < 16; i++ {
		if err := float32(math.Abs(float64(kvaluesMXFP4[i]*d - x))); err < bestErr {
			best, bestErr = i, err
		}
	}
	return byte(best)
}
