// Package docsnippet reads the configuration blocks of cnsgate's guides
// (docs/relying-parties.md, docs/saml-attributes.md) for the end-to-end
// tests that run them: a block is marked by a comment line before its
// fenced code block and one after,
//
//	<!-- snippet: NAME (what runs it; keep the markers) -->
//	```lang
//	...
//	```
//	<!-- end snippet -->
//
// so that a test runs exactly what the guide tells the reader to write
// (Block), or checks that the guide shows byte for byte the file it runs
// (Equal), or the region of a Go test file that a test compiles and runs
// (EqualRegion: the lines between "// snippet: NAME" and "// end snippet").
//
// Files:
//   - doc.go: this overview.
//   - docsnippet.go: Block, Equal, Region, EqualRegion and the repository's docs directory.
//   - docsnippet_test.go: the markers of both guides are found and unique.
package docsnippet
