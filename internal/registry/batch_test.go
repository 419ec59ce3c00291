package registry

import (
	"context"
	"errors"
	"testing"
)

// TestBatchJobLifecycle: a job and its index go in together; a finished line
// cannot be committed twice (that would be a duplicate in the output), and a
// refused commit changes nothing; cancel of a queued job is immediate.
func TestBatchJobLifecycle(t *testing.T) {
	ctx := context.Background()
	db := openTemp(t)
	j := &BatchJob{ModelID: "a/b:Q4_0", InputPath: "/in.jsonl", Settings: []byte(`{"engine":"ollama"}`)}
	lines := []BatchLine{{LineNo: 1, Offset: 0, Length: 10, Hash: "h1", CustomID: "x"}, {LineNo: 3, Offset: 12, Length: 5, Hash: "h3", CustomID: "y"}}
	err := db.CreateBatchJob(ctx, j, lines, func(id int64) (string, string, error) { return "/out", "/err", nil })
	if err != nil || j.ID <= 0 || j.TotalLines != 2 || j.OutputPath != "/out" || j.ErrorPath != "/err" {
		t.Fatalf("create: %v %+v", err, j)
	}
	if err := db.CommitBatchLines(ctx, j.ID, []LineResult{{LineNo: 1, PromptTokens: 4, OutputTokens: 2}}, 100, 0); err != nil {
		t.Fatal(err)
	}
	err = db.CommitBatchLines(ctx, j.ID, []LineResult{{LineNo: 3, Failed: true}, {LineNo: 1}}, 200, 50)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("committing line 1 again: %v", err)
	}
	got, _ := db.GetBatchJob(ctx, j.ID)
	if got.DoneLines != 1 || got.FailedLines != 0 || got.OutBytes != 100 || got.ErrBytes != 0 || got.PromptTokens != 4 || got.OutputTokens != 2 {
		t.Fatalf("after a refused commit: %+v", got)
	}
	pending, _ := db.PendingBatchLines(ctx, j.ID)
	if len(pending) != 1 || pending[0].LineNo != 3 || pending[0].CustomID != "y" || pending[0].Offset != 12 {
		t.Fatalf("pending %+v", pending)
	}
	if err := db.RequestBatchCancel(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.GetBatchJob(ctx, j.ID); got.State != BatchCancelled || !got.CancelRequested || got.FinishedAt.IsZero() {
		t.Fatalf("cancel of a queued job: %+v", got)
	}
	if err := db.SetBatchState(ctx, j.ID, BatchRunning, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ = db.GetBatchJob(ctx, j.ID); got.State != BatchRunning || got.CancelRequested || !got.FinishedAt.IsZero() || got.StartedAt.IsZero() {
		t.Fatalf("resumed: %+v", got)
	}
	if un, _ := db.ListUnfinishedBatchJobs(ctx); len(un) != 1 || un[0].ID != j.ID {
		t.Fatalf("unfinished %v", un)
	}
	if _, err := db.GetBatchJob(ctx, 999); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
}
