// Package web holds fitbench's pages: plain HTML, CSS and JavaScript with no
// build step, embedded into the binary so a fresh clone serves them as is.
package web

import "embed"

// FS holds add-model.html, workbench.html and their scripts and styles.
//
//go:embed *.html *.css *.js
var FS embed.FS
