// Package webpage renders the demo relying parties' pages: each page a
// template parsed with a shared layout, written with the headers every page
// of an application showing personal data needs. It is the examples' own
// plumbing, so that each example keeps only what it does; it holds no
// template of its own and knows nothing of cnsgate or of the protocols.
// It serves the layout the examples' pages share (static/webpage.css);
// each application's stylesheet sets only its colours.
//
// # Files
//
//	doc.go      this map
//	webpage.go  Set, Parse and Render (buffered, with the no-cache and no-framing headers), Static and SharedCSS, DisplayName
//	static/     webpage.css, the layout every example page links, embedded
package webpage
