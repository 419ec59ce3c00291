package install

import (
	"context"

	"github.com/fitbench/fitbench/internal/download"
)

// Downloader adapts download.Manager to the pipeline's Fetcher: all shards of a
// variant as one unit, one download per file even when asked twice at once.
type Downloader struct {
	Manager *download.Manager
	Options download.Options
}

// NewDownloader returns a Downloader with default options.
func NewDownloader() *Downloader { return &Downloader{Manager: download.NewManager()} }

// Fetch downloads, verifies and renames the files into place.
func (d *Downloader) Fetch(ctx context.Context, files []FetchFile, progress func(FetchProgress)) error {
	specs := make([]download.FileSpec, 0, len(files))
	for _, f := range files {
		specs = append(specs, download.FileSpec{Dest: f.Dest, Size: f.Size, SHA256: f.SHA256, Commit: f.Commit, Resolve: f.Resolve})
	}
	opts := d.Options
	opts.OnProgress = func(s download.Snapshot) {
		if progress != nil {
			progress(FetchProgress{Phase: s.Phase, Done: s.Done, Total: s.Total, Speed: s.Speed, ETA: s.ETA})
		}
	}
	return d.Manager.Fetch(ctx, specs, opts)
}
