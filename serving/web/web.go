// Package web holds the support agents' chat page: static HTML, CSS and
// JavaScript embedded in the binary, so the page works without a network
// beyond the server that serves it.
package web

import (
	"embed"
	"io/fs"
)

//go:embed index.html app.js style.css
var files embed.FS

// FS returns the page's files with index.html at the root. The page calls
// the API with relative URLs (v1/models, v1/chat/completions), so it must be
// served from the same directory as the API's v1/ prefix, normally /.
func FS() fs.FS { return files }
