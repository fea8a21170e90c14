package web

import (
	"io/fs"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// pageRefs parses index.html and returns the URLs it loads (src and href)
// and the element ids it declares.
func pageRefs(t *testing.T, fsys fs.FS) (refs []string, ids map[string]bool) {
	t.Helper()
	raw, err := fs.ReadFile(fsys, "index.html")
	if err != nil {
		t.Fatalf("reading index.html: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("parsing index.html: %v", err)
	}
	ids = map[string]bool{}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				switch a.Key {
				case "src", "href":
					refs = append(refs, a.Val)
				case "id":
					if ids[a.Val] {
						t.Errorf("index.html declares id %q twice", a.Val)
					}
					ids[a.Val] = true
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return refs, ids
}

func TestFSHasIndexAndItsAssets(t *testing.T) {
	fsys := FS()
	refs, _ := pageRefs(t, fsys)
	if len(refs) == 0 {
		t.Fatal("index.html references no assets; the script and stylesheet are missing")
	}
	referenced := map[string]bool{"index.html": true}
	for _, ref := range refs {
		u, err := url.Parse(ref)
		if err != nil {
			t.Errorf("index.html references %q, which is not a URL: %v", ref, err)
			continue
		}
		if u.Scheme != "" || u.Host != "" || strings.HasPrefix(ref, "/") {
			t.Errorf("index.html references %q: assets must be relative files in the embedded FS (no CDNs, works offline)", ref)
			continue
		}
		name := strings.TrimPrefix(u.Path, "./")
		if _, err := fs.Stat(fsys, name); err != nil {
			t.Errorf("index.html references %q, which the FS lacks: %v", ref, err)
		}
		referenced[name] = true
	}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !referenced[p] {
			t.Errorf("the FS holds %s, which index.html never loads", p)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the FS: %v", err)
	}
}

// TestScriptMatchesPage guards against the script and the page drifting
// apart: every element the script looks up by id must exist.
func TestScriptMatchesPage(t *testing.T) {
	fsys := FS()
	_, ids := pageRefs(t, fsys)
	js, err := fs.ReadFile(fsys, "app.js")
	if err != nil {
		t.Fatalf("reading app.js: %v", err)
	}
	lookups := regexp.MustCompile(`\$\("([^"]+)"\)`).FindAllStringSubmatch(string(js), -1)
	if len(lookups) == 0 {
		t.Fatal("app.js looks up no elements by id; the test's pattern no longer matches the script")
	}
	for _, m := range lookups {
		if !ids[m[1]] {
			t.Errorf("app.js looks up #%s, which index.html does not declare", m[1])
		}
	}
}

// TestScriptNeverParsesMarkup keeps model output out of the HTML parser:
// text goes in with textContent only.
func TestScriptNeverParsesMarkup(t *testing.T) {
	js, err := fs.ReadFile(FS(), "app.js")
	if err != nil {
		t.Fatalf("reading app.js: %v", err)
	}
	for _, sink := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
		if strings.Contains(string(js), sink) {
			t.Errorf("app.js uses %s; insert text with textContent", sink)
		}
	}
}
