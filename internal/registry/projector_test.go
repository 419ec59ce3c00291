package registry

import (
	"context"
	"testing"
)

// The projector is stored apart from the shards and survives a round trip; an
// upsert without one clears it (a reinstall of a variant that lost its mmproj).
func TestModelProjectorRoundTrip(t *testing.T) {
	db := openTemp(t)
	ctx := context.Background()
	m := &Model{ModelID: "org/vis:Q8_0", LocalPath: "/m/model.gguf",
		Files:     []File{{Path: "/m/model.gguf", SizeBytes: 10, SHA256: "aa"}},
		Projector: &File{Path: "/m/mmproj-f16.gguf", SizeBytes: 5, SHA256: "bb", RepoPath: "mmproj-f16.gguf"}}
	if _, err := db.UpsertModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	got, err := db.GetModel(ctx, m.ModelID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Files) != 1 || got.Projector == nil || *got.Projector != *m.Projector {
		t.Fatalf("files %+v projector %+v, want one shard and %+v", got.Files, got.Projector, m.Projector)
	}
	m.Projector = nil
	if _, err := db.UpsertModel(ctx, m); err != nil {
		t.Fatal(err)
	}
	if got, err = db.GetModel(ctx, m.ModelID); err != nil || got.Projector != nil {
		t.Fatalf("projector after upsert without one: %+v, %v", got.Projector, err)
	}
}
