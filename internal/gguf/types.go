package gguf

import "fmt"

// GGMLType is a tensor element type (ggml_type in ggml.h). The numeric values are
// written into files, so they never change; ids of types removed from ggml (4, 5,
// 31–33, 36–38) are unknown here on purpose, as they are to llama.cpp.
type GGMLType uint32

// Tensor types known to llama.cpp, with their ggml ids.
const (
	TypeF32     GGMLType = 0
	TypeF16     GGMLType = 1
	TypeQ4_0    GGMLType = 2
	TypeQ4_1    GGMLType = 3
	TypeQ5_0    GGMLType = 6
	TypeQ5_1    GGMLType = 7
	TypeQ8_0    GGMLType = 8
	TypeQ8_1    GGMLType = 9
	TypeQ2_K    GGMLType = 10
	TypeQ3_K    GGMLType = 11
	TypeQ4_K    GGMLType = 12
	TypeQ5_K    GGMLType = 13
	TypeQ6_K    GGMLType = 14
	TypeQ8_K    GGMLType = 15
	TypeIQ2_XXS GGMLType = 16
	TypeIQ2_XS  GGMLType = 17
	TypeIQ3_XXS GGMLType = 18
	TypeIQ1_S   GGMLType = 19
	TypeIQ4_NL  GGMLType = 20
	TypeIQ3_S   GGMLType = 21
	TypeIQ2_S   GGMLType = 22
	TypeIQ4_XS  GGMLType = 23
	TypeI8      GGMLType = 24
	TypeI16     GGMLType = 25
	TypeI32     GGMLType = 26
	TypeI64     GGMLType = 27
	TypeF64     GGMLType = 28
	TypeIQ1_M   GGMLType = 29
	TypeBF16    GGMLType = 30
	TypeTQ1_0   GGMLType = 34
	TypeTQ2_0   GGMLType = 35
	TypeMXFP4   GGMLType = 39
)

type typeTraits struct {
	name      string
	blockSize uint64 // elements per block
	typeSize  uint64 // bytes per block
}

// traits mirrors type_traits in ggml.c (blck_size, type_size).
var traits = map[GGMLType]typeTraits{
	TypeF32:     {"F32", 1, 4},
	TypeF16:     {"F16", 1, 2},
	TypeQ4_0:    {"Q4_0", 32, 18},
	TypeQ4_1:    {"Q4_1", 32, 20},
	TypeQ5_0:    {"Q5_0", 32, 22},
	TypeQ5_1:    {"Q5_1", 32, 24},
	TypeQ8_0:    {"Q8_0", 32, 34},
	TypeQ8_1:    {"Q8_1", 32, 36},
	TypeQ2_K:    {"Q2_K", 256, 84},
	TypeQ3_K:    {"Q3_K", 256, 110},
	TypeQ4_K:    {"Q4_K", 256, 144},
	TypeQ5_K:    {"Q5_K", 256, 176},
	TypeQ6_K:    {"Q6_K", 256, 210},
	TypeQ8_K:    {"Q8_K", 256, 292},
	TypeIQ2_XXS: {"IQ2_XXS", 256, 66},
	TypeIQ2_XS:  {"IQ2_XS", 256, 74},
	TypeIQ3_XXS: {"IQ3_XXS", 256, 98},
	TypeIQ1_S:   {"IQ1_S", 256, 50},
	TypeIQ4_NL:  {"IQ4_NL", 32, 18},
	TypeIQ3_S:   {"IQ3_S", 256, 110},
	TypeIQ2_S:   {"IQ2_S", 256, 82},
	TypeIQ4_XS:  {"IQ4_XS", 256, 136},
	TypeI8:      {"I8", 1, 1},
	TypeI16:     {"I16", 1, 2},
	TypeI32:     {"I32", 1, 4},
	TypeI64:     {"I64", 1, 8},
	TypeF64:     {"F64", 1, 8},
	TypeIQ1_M:   {"IQ1_M", 256, 56},
	TypeBF16:    {"BF16", 1, 2},
	TypeTQ1_0:   {"TQ1_0", 256, 54},
	TypeTQ2_0:   {"TQ2_0", 256, 66},
	TypeMXFP4:   {"MXFP4", 32, 17},
}

// TypeTraits returns how many elements one block of t holds and how many bytes
// that block takes. ok is false for ids llama.cpp does not know.
func TypeTraits(t GGMLType) (blockSize, typeSize uint64, ok bool) {
	tr, ok := traits[t]
	return tr.blockSize, tr.typeSize, ok
}

// Known reports whether llama.cpp knows the type id.
func (t GGMLType) Known() bool { _, ok := traits[t]; return ok }

// String is the ggml name ("Q4_K", "F16"), or "type(N)" for unknown ids.
func (t GGMLType) String() string {
	if tr, ok := traits[t]; ok {
		return tr.name
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// ParseGGMLType maps a ggml type name ("Q8_0", case-sensitive as ggml prints it)
// back to its id.
func ParseGGMLType(name string) (GGMLType, bool) {
	for t, tr := range traits {
		if tr.name == name {
			return t, true
		}
	}
	return 0, false
}

// fileTypeNames maps llama_ftype (general.file_type) to the label llama.cpp and
// the Hub use in file names. Gaps are ftypes removed from llama.cpp.
var fileTypeNames = map[int]string{
	0: "F32", 1: "F16", 2: "Q4_0", 3: "Q4_1", 4: "Q4_1_SOME_F16",
	7: "Q8_0", 8: "Q5_0", 9: "Q5_1", 10: "Q2_K", 11: "Q3_K_S", 12: "Q3_K_M",
	13: "Q3_K_L", 14: "Q4_K_S", 15: "Q4_K_M", 16: "Q5_K_S", 17: "Q5_K_M",
	18: "Q6_K", 19: "IQ2_XXS", 20: "IQ2_XS", 21: "Q2_K_S", 22: "IQ3_XS",
	23: "IQ3_XXS", 24: "IQ1_S", 25: "IQ4_NL", 26: "IQ3_S", 27: "IQ3_M",
	28: "IQ2_S", 29: "IQ2_M", 30: "IQ4_XS", 31: "IQ1_M", 32: "BF16",
	36: "TQ1_0", 37: "TQ2_0", 38: "MXFP4_MOE",
}

// FileTypeName is the llama.cpp label of a llama_ftype value (15 → "Q4_K_M"), or
// "" when the value is unknown. The GUESSED flag (1024) is ignored.
func FileTypeName(ft int) string {
	return fileTypeNames[ft&^1024]
}

// FileTypeFor is the llama_ftype a writer records for a model whose weights are t
// (the inverse of FileTypeName for the single-type quantizations), or -1.
func FileTypeFor(t GGMLType) int {
	switch t {
	case TypeF32:
		return 0
	case TypeF16:
		return 1
	case TypeQ4_0:
		return 2
	case TypeQ4_1:
		return 3
	case TypeQ8_0:
		return 7
	case TypeQ5_0:
		return 8
	case TypeQ5_1:
		return 9
	case TypeBF16:
		return 32
	}
	return -1
}

// ValueType is the type tag of a metadata value (gguf_type).
type ValueType uint32

// Metadata value types, with their GGUF ids.
const (
	ValUint8   ValueType = 0
	ValInt8    ValueType = 1
	ValUint16  ValueType = 2
	ValInt16   ValueType = 3
	ValUint32  ValueType = 4
	ValInt32   ValueType = 5
	ValFloat32 ValueType = 6
	ValBool    ValueType = 7
	ValString  ValueType = 8
	ValArray   ValueType = 9
	ValUint64  ValueType = 10
	ValInt64   ValueType = 11
	ValFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32",
	"float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (v ValueType) String() string {
	if int(v) < len(valueTypeNames) {
		return valueTypeNames[v]
	}
	return fmt.Sprintf("valuetype(%d)", uint32(v))
}

// fixedSize is the encoded size of a scalar type; 0 for string, array and unknown.
func (v ValueType) fixedSize() uint64 {
	switch v {
	case ValUint8, ValInt8, ValBool:
		return 1
	case ValUint16, ValInt16:
		return 2
	case ValUint32, ValInt32, ValFloat32:
		return 4
	case ValUint64, ValInt64, ValFloat64:
		return 8
	}
	return 0
}

// minSize is the fewest bytes one value of type v can occupy on disk; it bounds
// how many elements an array can claim before we believe it.
func (v ValueType) minSize() uint64 {
	switch v {
	case ValString:
		return 8
	case ValArray:
		return 12
	}
	return v.fixedSize()
}
