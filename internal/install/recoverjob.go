package install

import (
	"fmt"
	"log/slog"
	"runtime/debug"
)

// recoverInto is deferred by every background job: a panic becomes the job's
// error (logged with its stack for the developers) instead of ending the
// process.
func recoverInto(err *error, log *slog.Logger, modelID string) {
	v := recover()
	if v == nil {
		return
	}
	log.Error("internal error in a job (recovered)", "model", modelID, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	*err = fmt.Errorf("internal error while processing %s: %v (this is a fitbench bug; the server keeps running — please report it with logs/api.log)", modelID, v)
}
