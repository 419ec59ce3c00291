//go:build !linux && !darwin && !windows

package hardware

import "context"

// detectOS: no RAM reader for this OS; the analysis says RAM is unknown.
func detectOS(_ context.Context, h *Hardware) {
	h.Notes = append(h.Notes, "system RAM is not read on this OS")
}
