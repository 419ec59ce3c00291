package bench

// ParseLine parses one dataset line with the same rules as ParseJSONL (n is
// its 1-based line number). The batch runner uses it so that a file accepted by
// `fitbench bench --dataset` is read the same way by `fitbench batch`; a bad
// line's error is a *DatasetError whose Msg says what is wrong.
func ParseLine(raw []byte, n int) (Sample, error) {
	s, msg := parseLine(raw, n)
	if msg != "" {
		return s, &DatasetError{Line: n, Msg: msg}
	}
	return s, nil
}
